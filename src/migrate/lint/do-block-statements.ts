import { parse, parsePlPgSQL, scanSync, type ScanToken } from 'libpg-query';
import type { MigrationStatement } from './parsed-migration.js';
import { doBlockBody } from './statement-parts.js';
import { SqlSource } from './sql-source.js';

/**
 * The SQL statements a DO block runs. A DO block executes its body at once,
 * in the migration's transaction, so `DO $$ BEGIN ALTER TABLE users ADD
 * CONSTRAINT ... FOREIGN KEY ...; EXCEPTION WHEN duplicate_object THEN NULL;
 * END $$` (the usual idempotent-migration idiom) takes the same locks and
 * breaks the same running release as the statement written alone. A
 * function body is not run by CREATE FUNCTION, so only DO blocks are opened.
 *
 * PL/pgSQL's own parser (libpg-query's parsePlPgSQL) finds each embedded SQL
 * statement, in IF branches, loops and nested blocks alike, and each
 * `EXECUTE '<constant string>'`; PostgreSQL's SQL parser then reads it like
 * any other statement. Dynamic SQL built at run time cannot be read and is
 * left alone.
 *
 * Each statement keeps the DO block's index (a disable comment before the
 * block covers what is in it), its own source (node locations are offsets
 * into its text), and the position in the file where its text starts, found
 * in the block's body when the body is dollar-quoted (as written), else the
 * block's own position.
 */
export async function doBlockStatements(block: MigrationStatement): Promise<MigrationStatement[]> {
  const body = doBlockBody(block);
  if (body === undefined) return [];
  let found: EmbeddedQuery[];
  try {
    found = embeddedQueries(await parsePlPgSQL(wrapAsFunction(body)));
  } catch {
    // PostgreSQL would refuse the block when it runs; the lint has nothing to read in it.
    return [];
  }
  const bodyAt = block.text.indexOf(body);
  const statements: MigrationStatement[] = [];
  let cursor = 0;
  for (const query of found) {
    const sql = query.kind === 'sql' ? query.text : await stringConstant(query.text);
    const node = sql === undefined ? undefined : await singleStatement(sql);
    if (sql === undefined || node === undefined) continue;
    const at = bodyAt < 0 ? -1 : body.indexOf(query.text, cursor);
    if (at >= 0) cursor = at + query.text.length;
    statements.push(embedded(block, node, sql, query.text, at < 0 ? undefined : bodyAt + at));
  }
  return statements;
}

/** parsePlPgSQL reads CREATE FUNCTION; a tag the body cannot contain keeps the body byte for byte. */
function wrapAsFunction(body: string): string {
  let tag = 'cutover_do_block';
  while (body.includes(`$${tag}$`)) tag += '_';
  return `CREATE FUNCTION cutover_do_block() RETURNS void LANGUAGE plpgsql AS $${tag}$${body}$${tag}$;`;
}

interface EmbeddedQuery {
  /** A plain SQL statement, or what an EXECUTE runs. */
  kind: 'sql' | 'execute';
  /** As written in the body. */
  text: string;
}

/** Every PLpgSQL_stmt_execsql and PLpgSQL_stmt_dynexecute of the tree, in order. */
function embeddedQueries(tree: unknown): EmbeddedQuery[] {
  const found: EmbeddedQuery[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const record = value as Record<string, unknown>;
    const sql = queryOf(record.PLpgSQL_stmt_execsql, 'sqlstmt');
    if (sql !== undefined) found.push({ kind: 'sql', text: sql });
    const dynamic = queryOf(record.PLpgSQL_stmt_dynexecute, 'query');
    if (dynamic !== undefined) found.push({ kind: 'execute', text: dynamic });
    for (const member of Object.values(record)) visit(member);
  };
  visit(tree);
  return found;
}

function queryOf(statement: unknown, field: string): string | undefined {
  if (statement === null || typeof statement !== 'object') return undefined;
  const expression = (statement as Record<string, { PLpgSQL_expr?: { query?: unknown } } | undefined>)[field];
  const query = expression?.PLpgSQL_expr?.query;
  return typeof query === 'string' ? query : undefined;
}

/** `'DROP TABLE x'` (or `$q$...$q$`, `E'...'`) as the text it stands for; undefined for anything computed. */
async function stringConstant(expression: string): Promise<string | undefined> {
  try {
    if (codeTokens(expression).length !== 1 || codeTokens(expression)[0]?.tokenName !== 'SCONST') return undefined;
    // The SQL parser unquotes it in every spelling: SELECT <constant> holds the text as an A_Const.
    const target = (await parse(`SELECT ${expression}`)).stmts?.[0]?.stmt;
    const value = target && 'SelectStmt' in target ? target.SelectStmt.targetList?.[0] : undefined;
    const constant = value && 'ResTarget' in value ? value.ResTarget.val : undefined;
    return constant && 'A_Const' in constant ? constant.A_Const.sval?.sval : undefined;
  } catch {
    return undefined;
  }
}

async function singleStatement(sql: string): Promise<MigrationStatement['node'] | undefined> {
  try {
    const statements = (await parse(sql)).stmts ?? [];
    return statements.length === 1 ? statements[0]?.stmt : undefined;
  } catch {
    return undefined;
  }
}

function codeTokens(text: string): ScanToken[] {
  // eslint-disable-next-line no-control-regex -- the characters the scanner's JSON cannot carry (see parsed-migration.ts)
  const scannable = text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' ');
  return scanSync(scannable).tokens.filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT');
}

function embedded(
  block: MigrationStatement,
  node: MigrationStatement['node'],
  text: string,
  written: string,
  characterOffsetInBlock: number | undefined,
): MigrationStatement {
  const source = new SqlSource(text);
  const startByte =
    characterOffsetInBlock === undefined
      ? block.startByte
      : block.startByte + Buffer.byteLength(block.text.slice(0, characterOffsetInBlock), 'utf8');
  const endByte = characterOffsetInBlock === undefined ? block.endByte : startByte + Buffer.byteLength(written, 'utf8');
  const statement: MigrationStatement = {
    index: block.index,
    node,
    kind: Object.keys(node)[0] ?? 'Unknown',
    text,
    // Offsets into `source`, the statement's own text, where its nodes' locations point.
    startByte: 0,
    endByte: source.byteLength,
    start: block.source.positionAtByte(startByte),
    end: block.source.positionAtByte(endByte),
    source,
    tokens: [],
  };
  let tokens: ScanToken[] | undefined;
  Object.defineProperty(statement, 'tokens', { get: () => (tokens ??= codeTokens(text)), enumerable: true });
  return statement;
}
