import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, scan, type ScanToken } from 'libpg-query';
import { parseMigration } from '../../../src/migrate/lint/index.js';

/**
 * parseMigration scans only the stretches of a file that hold a comment
 * marker, and a statement's tokens only when a rule asks (scanner time is
 * most of a long file's lint; see bench/README.md). What it returns must be
 * what one scan of the whole file gives: the same comments, and for each
 * statement the same bounds, text and tokens. The reference below is that
 * whole-file scan, written here apart from the code under test, run over the
 * corpus, the fixtures and cases made to trip a stretch-by-stretch scan.
 */
const TEST_ROOT = fileURLToPath(new URL('../../../../test/migrate/', import.meta.url));

const TRICKY = [
  'ALTER TABLE users ADD COLUMN nickname text;',
  'SELECT 1; SELECT 2',
  '-- header\n-- cutover:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);\n-- trailing comment\n',
  "SELECT '-- not a comment', '/* nor this */';\nSELECT 2;",
  'SELECT 1 /* inside */ + 2 -- after\n;\n/* between */ SELECT /* a /* nested */ one */ 3 ;;  ;\n',
  'DO $$ BEGIN -- in a body\n PERFORM 1; /* also */ END $$;\nSELECT $tag$ -- $tag$ ; -- real\n',
  "SELECT 'é' AS \"ünïcode\" ; -- ☕ comment\n  SELECT E'\\x01', 'a\u0001b'  ;\n\t\r\n",
  "INSERT INTO t VALUES ('tab\there', 'bell\u0007');   ",
  '  \n  SELECT 1  \n\n  ;  \n  SELECT 2 -- no semicolon at the end',
  '-- only a comment\n',
  '/* only */ /* comments */',
  ';;;',
  'CREATE TABLE a (id int); -- one\nCREATE TABLE b (id int); /* two */\nALTER TABLE a ADD COLUMN b int;',
];

async function sqlFiles(directory: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(directory, { withFileTypes: true })) {
    const full = `${directory}${entry.name}`;
    if (entry.isDirectory()) found.push(...(await sqlFiles(`${full}/`)));
    else if (entry.name.endsWith('.sql')) found.push(full);
  }
  return found;
}

interface Expected {
  comments: { text: string; startByte: number; endByte: number }[];
  statements: { startByte: number; endByte: number; text: string; tokens: ScanToken[] }[];
}

/** One scan of the whole file. */
async function wholeFileScan(sql: string): Promise<ScanToken[]> {
  // eslint-disable-next-line no-control-regex -- as parsed-migration.ts: the scanner's JSON cannot carry these
  return (await scan(sql.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, ' '))).tokens;
}

function isComment(token: ScanToken): boolean {
  return token.tokenName === 'SQL_COMMENT' || token.tokenName === 'C_COMMENT';
}

/** A statement's tokens are the non-comment ones within the region the parser gives it. */
async function expectedOf(sql: string): Promise<Expected | null> {
  const parsed = await parseMigration(sql);
  if (!parsed.ok) return null;
  const bytes = parsed.source.bytes;
  const tokens = await wholeFileScan(parsed.source.text);
  const code = tokens.filter((token) => !isComment(token));
  const raws = ((await parse(parsed.source.text)).stmts ?? []).filter((raw) => raw.stmt);
  const statements = raws.map((raw) => {
    const from = raw.stmt_location ?? 0;
    const to = raw.stmt_len ? from + raw.stmt_len : bytes.length;
    const own = code.filter((token) => token.start >= from && token.end <= to);
    const startByte = own[0]?.start ?? from;
    const endByte = own[own.length - 1]?.end ?? to;
    return { startByte, endByte, text: bytes.subarray(startByte, endByte).toString('utf8').trim(), tokens: own };
  });
  const comments = tokens.filter(isComment).map((token) => ({
    text: bytes.subarray(token.start, token.end).toString('utf8'),
    startByte: token.start,
    endByte: token.end,
  }));
  return { comments, statements };
}

describe('parseMigration scans only where it must', () => {
  it('gives what a scan of the whole file gives, for the corpus, the fixtures and tricky files', async () => {
    const files = await sqlFiles(TEST_ROOT);
    assert.ok(files.length > 250, `the corpus is there (${files.length} files)`);
    const inputs = [...(await Promise.all(files.map((file) => readFile(file, 'utf8')))), ...TRICKY];
    let compared = 0;
    for (const [index, sql] of inputs.entries()) {
      const expected = await expectedOf(sql);
      const parsed = await parseMigration(sql);
      if (!expected || !parsed.ok) {
        assert.equal(parsed.ok, false, `input ${index}: both fail to parse`);
        continue;
      }
      const label = index < files.length ? files[index] : `tricky case ${index - files.length}`;
      assert.deepEqual(
        parsed.comments.map(({ text, startByte, endByte }) => ({ text, startByte, endByte })),
        expected.comments,
        `${label}: comments`,
      );
      assert.deepEqual(
        parsed.statements.map(({ startByte, endByte, text, tokens }) => ({ startByte, endByte, text, tokens })),
        expected.statements,
        `${label}: statements`,
      );
      compared++;
    }
    assert.ok(compared > 250, `compared ${compared} files`);
  });
});
