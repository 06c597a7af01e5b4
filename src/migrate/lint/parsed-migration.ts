import { hasSqlDetails, parse, scanSync, type Node, type ScanToken } from 'libpg-query';
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
  const regions: StatementRegion[] = [];
  for (const raw of rawStatements) {
    if (!raw.stmt) continue;
    // stmt_location and stmt_len are left out of the tree when 0 (protobuf
    // defaults); a missing length means "to the end of the input".
    const from = raw.stmt_location ?? 0;
    regions.push({ node: raw.stmt, from, to: raw.stmt_len ? from + raw.stmt_len : source.byteLength });
  }
  return { ok: true, source, ...(inOrder(regions) ? scanWhereNeeded(source, regions) : scanAll(source, regions)) };
}

/** Where the parser says a statement lies: from its first token to the byte before its semicolon. */
interface StatementRegion {
  node: Node;
  from: number;
  to: number;
}

type StatementsAndComments = { statements: MigrationStatement[]; comments: SqlComment[] };

function inOrder(regions: readonly StatementRegion[]): boolean {
  return regions.every((region, index) => region.from <= region.to && region.from >= (regions[index - 1]?.to ?? 0));
}

/**
 * The scanner costs about twice the parser (a JSON token list of the whole
 * file), and most of a migration holds no comment. The parser's regions start
 * and end between tokens, where the scanner starts afresh, so each stretch
 * (a statement, or the bytes between two) is scanned alone, and only when it
 * holds `--` or `/*`: without those, its tokens cover every byte above a space
 * (the scanner's whitespace, control characters being read as spaces), so
 * trimming finds where the statement starts and ends, and its tokens are
 * scanned only if a rule asks for them. The result is what scanAll gives.
 */
function scanWhereNeeded(source: SqlSource, regions: readonly StatementRegion[]): StatementsAndComments {
  const markers = new CommentMarkers(source.bytes);
  const statements: MigrationStatement[] = [];
  const comments: SqlComment[] = [];
  let previousEnd = 0;
  for (const { node, from, to } of regions) {
    if (markers.within(previousEnd, from))
      comments.push(...scanStretch(source, previousEnd, from).filter(isComment).map(commentOf(source)));
    previousEnd = to;
    if (markers.within(from, to)) {
      const tokens = scanStretch(source, from, to);
      comments.push(...tokens.filter(isComment).map(commentOf(source)));
      statements.push(
        statementOf(
          source,
          statements.length,
          node,
          from,
          to,
          tokens.filter((token) => !isComment(token)),
        ),
      );
      continue;
    }
    let startByte = from;
    let endByte = to;
    while (startByte < endByte && (source.bytes[startByte] ?? 0) <= SPACE) startByte++;
    while (endByte > startByte && (source.bytes[endByte - 1] ?? 0) <= SPACE) endByte--;
    const statement = statementFrom(
      source,
      statements.length,
      node,
      startByte === endByte ? { startByte: from, endByte: to } : { startByte, endByte },
    );
    let tokens: ScanToken[] | undefined;
    Object.defineProperty(statement, 'tokens', {
      get: () => (tokens ??= scanStretch(source, from, to)),
      enumerable: true,
    });
    statements.push(statement);
  }
  if (markers.within(previousEnd, source.byteLength))
    comments.push(...scanStretch(source, previousEnd, source.byteLength).filter(isComment).map(commentOf(source)));
  return { statements, comments };
}

/** The whole file in one scan, for regions the parser did not hand over in order (never seen; kept as the reference). */
function scanAll(source: SqlSource, regions: readonly StatementRegion[]): StatementsAndComments {
  const tokens = scanStretch(source, 0, source.byteLength);
  const code = tokens.filter((token) => !isComment(token));
  const statements: MigrationStatement[] = [];
  let cursor = 0;
  for (const { node, from, to } of regions) {
    // Statements come in order, so one pass over the tokens finds every statement's first and last.
    while (cursor < code.length && (code[cursor]?.start ?? 0) < from) cursor++;
    const firstIndex = cursor;
    while (cursor < code.length && (code[cursor]?.end ?? 0) <= to) cursor++;
    statements.push(statementOf(source, statements.length, node, from, to, code.slice(firstIndex, cursor)));
  }
  return { statements, comments: tokens.filter(isComment).map(commentOf(source)) };
}

const SPACE = 0x20;

/** A statement from its tokens (comments left out): it runs from the first token's start to the last one's end. */
function statementOf(
  source: SqlSource,
  index: number,
  node: Node,
  from: number,
  to: number,
  tokens: ScanToken[],
): MigrationStatement {
  const first = tokens[0];
  const last = tokens[tokens.length - 1];
  const bounds = first && last ? { startByte: first.start, endByte: last.end } : { startByte: from, endByte: to };
  return { ...statementFrom(source, index, node, bounds), tokens };
}

function statementFrom(
  source: SqlSource,
  index: number,
  node: Node,
  { startByte, endByte }: { startByte: number; endByte: number },
): MigrationStatement {
  return {
    index,
    node,
    kind: Object.keys(node)[0] ?? 'Unknown',
    text: source.slice(startByte, endByte).trim(),
    startByte,
    endByte,
    start: source.positionAtByte(startByte),
    end: source.positionAtByte(endByte),
    source,
    tokens: [],
  };
}

const commentOf =
  (source: SqlSource) =>
  (token: ScanToken): SqlComment => ({
    text: source.slice(token.start, token.end),
    startByte: token.start,
    endByte: token.end,
    start: source.positionAtByte(token.start),
    end: source.positionAtByte(token.end),
  });

function isComment(token: ScanToken): boolean {
  return token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT';
}

/** Where `--` and `/*` occur in the file, found once, for "does this stretch hold a comment?". */
class CommentMarkers {
  private readonly starts: number[] = [];

  constructor(bytes: Buffer) {
    for (const marker of ['--', '/*']) {
      for (let at = bytes.indexOf(marker); at >= 0; at = bytes.indexOf(marker, at + 1)) this.starts.push(at);
    }
    this.starts.sort((a, b) => a - b);
  }

  /** Whether a marker starts in [from, to). */
  within(from: number, to: number): boolean {
    let low = 0;
    let high = this.starts.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if ((this.starts[middle] ?? 0) < from) low = middle + 1;
      else high = middle;
    }
    return low < this.starts.length && (this.starts[low] ?? 0) < to;
  }
}

/**
 * The tokens of bytes [from, to) of the file, at their offsets in the file.
 * libpg-query's scanner hands its tokens over as JSON and does not escape
 * control characters other than tab, newline and carriage return, so a string
 * literal holding one breaks it. Each is one byte, so replacing it by a space
 * keeps every offset, and only the text of that literal token changes.
 */
function scanStretch(source: SqlSource, from: number, to: number): ScanToken[] {
  // eslint-disable-next-line no-control-regex -- the characters the scanner's JSON cannot carry
  const scannable = source.slice(from, to).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ');
  const tokens = scanSync(scannable).tokens;
  if (from === 0) return tokens;
  return tokens.map((token) => ({ ...token, start: token.start + from, end: token.end + from }));
}

/** PostgreSQL reports where it stopped as a 0-based character offset (libpg-query's cursorPosition). */
function parseErrorOf(error: unknown, source: SqlSource): SqlParseError {
  if (hasSqlDetails(error) && error.sqlDetails) {
    return { message: error.sqlDetails.message, position: source.positionAtCharacter(error.sqlDetails.cursorPosition) };
  }
  return { message: error instanceof Error ? error.message : String(error), position: { line: 1, column: 1 } };
}
