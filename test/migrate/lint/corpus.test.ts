import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ALL_RULES, lintMigration } from '../../../src/migrate/lint/index.js';

/**
 * Our own corpus of migrations: test/migrate/lint-corpus/bad/*.sql must each
 * raise exactly the rules its first line names (`-- expect: rule-a, rule-b`),
 * good/*.sql must raise none (`-- expect: none`). Every mismatch is reported
 * in one failure, so a change to a rule shows all it moved at once. Files are
 * linted as a lone `migrate lint` would (no runner timeouts known; phase from
 * the file's own header, else expand). Tests run from dist/test/migrate/lint/,
 * so the corpus is four levels up, in the source tree.
 */
const CORPUS = fileURLToPath(new URL('../../../../test/migrate/lint-corpus/', import.meta.url));

interface CorpusFile {
  name: string;
  expected: string[];
  actual: string[];
}

async function lintCorpus(kind: 'bad' | 'good'): Promise<{ files: CorpusFile[]; problems: string[] }> {
  const files: CorpusFile[] = [];
  const problems: string[] = [];
  for (const name of (await readdir(`${CORPUS}${kind}`)).filter((entry) => entry.endsWith('.sql')).sort()) {
    const sql = await readFile(`${CORPUS}${kind}/${name}`, 'utf8');
    const header = /^-- expect: (.+)$/m.exec(sql.split('\n')[0] ?? '');
    if (!header?.[1]) {
      problems.push(`${kind}/${name}: the first line must be "-- expect: <rule ids>" or "-- expect: none"`);
      continue;
    }
    const listed = header[1].trim() === 'none' ? [] : header[1].split(',').map((id) => id.trim());
    const expected = [...new Set(listed)].sort();
    const result = await lintMigration(sql, { file: `lint-corpus/${kind}/${name}` });
    const actual = [...new Set(result.findings.map((finding) => finding.ruleId))].sort();
    files.push({ name, expected, actual });
    if (expected.join() !== actual.join())
      problems.push(`${kind}/${name}: expected [${expected.join(', ')}], got [${actual.join(', ')}]`);
  }
  return { files, problems };
}

describe('the lint corpus', () => {
  it('bad/: each file raises exactly the rules its header names', async () => {
    const { files, problems } = await lintCorpus('bad');
    assert.deepEqual(problems, []);
    assert.ok(files.length >= 150, `at least 150 bad migrations, found ${files.length}`);
    assert.ok(
      files.every((file) => file.expected.length > 0),
      'a bad migration expects at least one rule',
    );
  });

  it('good/: no file raises anything', async () => {
    const { files, problems } = await lintCorpus('good');
    assert.deepEqual(problems, []);
    assert.ok(files.length >= 100, `at least 100 good migrations, found ${files.length}`);
    assert.ok(
      files.every((file) => file.expected.length === 0),
      'a good migration expects none',
    );
  });

  it('has a bad migration for every rule, and names only rules that exist', async () => {
    const { files } = await lintCorpus('bad');
    const expected = new Set(files.flatMap((file) => file.expected));
    const known = new Set(ALL_RULES.map((rule) => rule.id));
    assert.deepEqual(
      ALL_RULES.map((rule) => rule.id).filter((id) => !expected.has(id)),
      [],
    );
    assert.deepEqual(
      [...expected].filter((id) => !known.has(id)),
      [],
    );
  });
});
