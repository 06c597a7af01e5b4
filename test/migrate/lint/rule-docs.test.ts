import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { ALL_RULES, lintMigration } from '../../../src/migrate/lint/index.js';

/**
 * docs/migration-rules.md is the rule catalogue users read: one section per
 * rule, and its SQL is run here. A `sql bad` block must raise the rule of its
 * section; a `sql good` block must come out with no finding at all. Tests run
 * from dist/test/migrate/lint/, so the docs are four levels up.
 */
const DOC = fileURLToPath(new URL('../../../../docs/migration-rules.md', import.meta.url));

interface RuleSection {
  id: string;
  text: string;
  bad: string[];
  good: string[];
}

function sectionsOf(markdown: string): RuleSection[] {
  return markdown
    .split(/^## /m)
    .slice(1)
    .map((chunk) => {
      const id = (chunk.split('\n')[0] ?? '').trim();
      const blocks = (tag: string): string[] =>
        [...chunk.matchAll(new RegExp('^```sql ' + tag + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1] ?? '');
      return { id, text: chunk, bad: blocks('bad'), good: blocks('good') };
    });
}

describe('docs/migration-rules.md', () => {
  it('has one section per rule, in the catalogue order, with its severity, why and lock as the linter states them', async () => {
    const sections = sectionsOf(await readFile(DOC, 'utf8'));
    assert.deepEqual(
      sections.map((section) => section.id),
      ALL_RULES.map((rule) => rule.id),
    );
    for (const rule of ALL_RULES) {
      const section = sections.find((candidate) => candidate.id === rule.id);
      assert.ok(section?.text.includes(`**${rule.severity}** · ${rule.summary}`), `${rule.id}: severity and summary`);
      assert.ok(section?.text.includes(`**Why.** ${rule.why}`), `${rule.id}: why`);
      assert.ok(section?.text.includes(`**Lock.** ${rule.lock}`), `${rule.id}: lock`);
      assert.ok(section && section.bad.length >= 1 && section.good.length >= 1, `${rule.id}: a bad and a good block`);
    }
  });

  it('every bad block raises its rule and every good block raises nothing (all mismatches at once)', async () => {
    const mismatches: string[] = [];
    let blocks = 0;
    for (const section of sectionsOf(await readFile(DOC, 'utf8'))) {
      for (const [kind, sqls] of [
        ['bad', section.bad],
        ['good', section.good],
      ] as const) {
        for (const sql of sqls) {
          blocks++;
          const found = (await lintMigration(sql, { file: `docs/${section.id}.sql` })).findings.map((f) => f.ruleId);
          if (kind === 'bad' && !found.includes(section.id))
            mismatches.push(`${section.id} bad block: expected ${section.id}, got [${found.join(', ')}]`);
          if (kind === 'good' && found.length > 0)
            mismatches.push(`${section.id} good block: expected none, got [${found.join(', ')}]`);
        }
      }
    }
    assert.deepEqual(mismatches, []);
    assert.ok(blocks >= ALL_RULES.length * 2);
  });
});
