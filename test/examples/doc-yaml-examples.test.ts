import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { parseCompose } from '../../src/config/compose-file.js';
import { parseConfig } from '../../src/config/load-config.js';
import { DOC_FILES, markdownBlocks } from '../support/markdown-blocks.js';

/**
 * Issue 20, item 15 (its config half): every YAML block of README.md and docs/*.md is a valid piece of
 * cutover.yaml, so a doc change that would break a reader's config is a red CI. A block is most often a
 * part (one service's strategy, the notifications); it is completed with what it leaves out (a server
 * section, a command, the README's `errors` template) and validated by the same parser `cutover server`
 * uses. `${NAME}` references get a placeholder value, as a reader's environment would give.
 */
const TOP_LEVEL = new Set(['server', 'services', 'analysis', 'flags', 'notifications', 'secrets']);

/** Fills what a doc block leaves out; what the block says wins. */
function completed(block: Record<string, unknown>): Record<string, unknown> {
  const isConfig = Object.keys(block).some((key) => TOP_LEVEL.has(key));
  const config: Record<string, unknown> = isConfig ? { ...block } : { services: { example: block } };
  config.server = { proxy: '127.0.0.1:18080', admin: '127.0.0.1:19900', ...(config.server as object | undefined) };
  config.analysis = {
    errors: {
      metrics: [{ name: 'error-rate', provider: { builtin: 'error-rate' }, failure_condition: 'result > 0.05' }],
    },
    ...(config.analysis as object | undefined),
  };
  const services = (config.services ?? {}) as Record<string, Record<string, unknown> | null>;
  config.services = Object.fromEntries(
    Object.entries(Object.keys(services).length > 0 ? services : { example: {} }).map(([name, service]) => {
      const runsImage = service?.runtime === 'docker' || service?.runtime === 'swarm';
      return [name, { ...(runsImage ? {} : { command: 'node server.js' }), ...(service ?? {}) }];
    }),
  );
  return config;
}

const env = new Proxy(
  {},
  {
    get: (_target, name) => (typeof name === 'string' ? placeholderFor(name) : undefined),
    has: () => true,
  },
);

function placeholderFor(name: string): string {
  if (/DATABASE_URL|DSN/.test(name)) return 'postgres://app:placeholder-password@127.0.0.1:5432/app';
  if (/URL/.test(name)) return 'https://hooks.example.com/placeholder';
  return 'placeholder-value-for-docs';
}

describe('the YAML examples of the docs are valid cutover.yaml', () => {
  const blocks = DOC_FILES.flatMap((file) => markdownBlocks(file, 'yaml'));

  it('finds the examples (README has several)', () => {
    assert.ok(blocks.filter((b) => b.file === 'README.md').length >= 5, JSON.stringify(blocks.map((b) => b.line)));
  });

  for (const block of blocks) {
    it(`${block.file}:${block.line}`, () => {
      const parsed = parse(block.text) as unknown;
      assert.ok(parsed && typeof parsed === 'object' && !Array.isArray(parsed), 'the block is a YAML mapping');
      const text = stringify(completed(parsed as Record<string, unknown>));
      try {
        parseConfig(text, '/tmp/docs-example/cutover.yaml', { env });
      } catch (error) {
        assert.fail(`${block.file}:${block.line} is not valid config:\n${(error as Error).message}\n${text}`);
      }
    });
  }
});

// A ```yml block is a Compose file (the "before" of `cutover init --from`): valid against the Compose spec.
describe('the Compose examples of the docs are valid Compose files', () => {
  const blocks = DOC_FILES.flatMap((file) => markdownBlocks(file, 'yml'));

  it('finds the README example', () => {
    assert.ok(blocks.some((b) => b.file === 'README.md'));
  });

  for (const block of blocks) {
    it(`${block.file}:${block.line}`, () => {
      parseCompose(block.text, `${block.file}:${block.line}`);
    });
  }
});
