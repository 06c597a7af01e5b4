import { hasSqlDetails, parse, scan, type Node, type ScanToken } from 'libpg-query';
import { SqlSource, type SourcePosition } from './sql-source.js';

/**
 * A migration file as PostgreSQL's own parser (libpg-query) sees it: its
 * statements with their trimmed text and positions, and its comments, which
 * the parser drops but the scanner keeps (directives live in comments).
 */
export interface MigrationStatement {
  /** 0-based position of the statement in the file. */
  index: number;
  node: Node;
  /** The node's type, e.g. `AlterTableStmt`. */
  kind: string;
  /** The statement as written, without surrounding whitespace, comments or the semicolon. */
  text: string;
  startByte: number;
  endByte: number;
  start: SourcePosition;
  end: SourcePosition;
  /** The whole file, for the text of a part of the statement (a default expression, say). */
  source: SqlSource;
  /** The statement's tokens from PostgreSQL's scanner, comments left out. */
  tokens: ScanToken[];
}

export interface SqlComment {
  /** The comment as written, markers included (`-- ...` or `/* ... *\/`). */
  text: string;
  startByte: number;
  endByte: number;
  start: SourcePosition;
  end: SourcePosition;
}

export interface SqlParseError {
  message: string;
  position: SourcePosition;
}

export type ParsedMigration =
  | { ok: true; source: SqlSource; statements: MigrationStatement[]; comments: SqlComment[] }
  | { ok: false; source: SqlSource; error: SqlParseError };

export async function parseMigration(text: string): Promise<ParsedMigration> {
  const source = new SqlSource(text);
  let rawStatements;
  try {
    rawStatements = (await parse(source.text)).stmts ?? [];
  } catch (error) {
    return { ok: false, source, error: parseErrorOf(error, source) };
  }
  const tokens = await scanTokens(source);
  const code = tokens.filter((token) => !isComment(token));
  const statements: MigrationStatement[] = [];
  let cursor = 0;
  for (const raw of rawStatements) {
    if (!raw.stmt) continue;
    // stmt_location and stmt_len are left out of the tree when 0 (protobuf
    // defaults); a missing length means "to the end of the input".
    const from = raw.stmt_location ?? 0;
    const to = raw.stmt_len ? from + raw.stmt_len : source.byteLength;
    // Statements come in order, so one pass over the tokens finds every statement's first and last.
    while (cursor < code.length && (code[cursor]?.start ?? 0) < from) cursor++;
    const firstIndex = cursor;
    while (cursor < code.length && (code[cursor]?.end ?? 0) <= to) cursor++;
    const startByte = cursor > firstIndex ? (code[firstIndex]?.start ?? from) : from;
    const endByte = cursor > firstIndex ? (code[cursor - 1]?.end ?? to) : to;
    statements.push({
      index: statements.length,
      node: raw.stmt,
      kind: Object.keys(raw.stmt)[0] ?? 'Unknown',
      text: source.slice(startByte, endByte).trim(),
      startByte,
      endByte,
      start: source.positionAtByte(startByte),
      end: source.positionAtByte(endByte),
      source,
      tokens: code.slice(firstIndex, cursor),
    });
  }
  const comments = tokens.filter(isComment).map((token) => ({
    text: source.slice(token.start, token.end),
    startByte: token.start,
    endByte: token.end,
    start: source.positionAtByte(token.start),
    end: source.positionAtByte(token.end),
  }));
  return { ok: true, source, statements, comments };
}

function isComment(token: ScanToken): boolean {
  return token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT';
}

/**
 * libpg-query's scanner hands its tokens over as JSON and does not escape
 * control characters other than tab, newline and carriage return, so a string
 * literal holding one breaks it. Each is one byte, so replacing it by a space
 * keeps every offset, and only the text of that literal token changes.
 */
async function scanTokens(source: SqlSource): Promise<ScanToken[]> {
  // eslint-disable-next-line no-control-regex -- the characters the scanner's JSON cannot carry
  const scannable = source.text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ');
  return (await scan(scannable)).tokens;
}

/** PostgreSQL reports where it stopped as a 0-based character offset (libpg-query's cursorPosition). */
function parseErrorOf(error: unknown, source: SqlSource): SqlParseError {
  if (hasSqlDetails(error) && error.sqlDetails) {
    return { message: error.sqlDetails.message, position: source.positionAtCharacter(error.sqlDetails.cursorPosition) };
  }
  return { message: error instanceof Error ? error.message : String(error), position: { line: 1, column: 1 } };
}
