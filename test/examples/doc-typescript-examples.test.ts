import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/cutover-harness.js';
import { DOC_FILES, markdownBlocks, type MarkdownBlock } from '../support/markdown-blocks.js';

/**
 * The ```ts blocks of README.md and docs/*.md (the flag SDK, the OpenFeature provider, OFREP in Node and the
 * browser) are what a reader pastes into an app: each is type-checked, strict, against the package's own
 * exports (`cutover/flags`, `cutover/openfeature`, resolved as an installed package resolves them) and the
 * OpenFeature packages they name. The YAML and command blocks have their own tests; these escaped them.
 *
 * The values a block leaves to the reader (the server's URL, a token, a user id) are declared, by name, below.
 */
const READER_VALUES = `declare const url: string;
declare const token: string;
declare const environment: string;
declare const userId: string;
declare const CLIENT_TOKEN: string;
declare const SDK_TOKEN: string;
`;

const blocks = DOC_FILES.flatMap((file) => markdownBlocks(file, 'ts'));
// Inside the repository, so `cutover/...` resolves through package.json's exports (a package's self-reference).
const dir = path.join(REPO_ROOT, 'test-artifacts', `doc-typescript-${process.pid}`);
const fileOf = (block: MarkdownBlock): string =>
  path.join(dir, `${block.file.replace(/[^a-z0-9]+/gi, '-')}-${block.line}.ts`);

describe('the TypeScript examples of the docs type-check against the package', () => {
  let diagnostics = '';

  before(async () => {
    fs.mkdirSync(dir, { recursive: true });
    for (const block of blocks) fs.writeFileSync(fileOf(block), `${READER_VALUES}${block.text}\nexport {};\n`);
    // A block that misuses the SDK, to prove the check sees one.
    fs.writeFileSync(
      path.join(dir, 'misused.ts'),
      `import { FlagClient } from 'cutover/flags';\nnew FlagClient({ address: 'http://127.0.0.1:9900' });\n`,
    );
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          lib: ['es2022', 'dom'],
          types: ['node'],
          strict: true,
          noEmit: true,
          skipLibCheck: true,
        },
        include: ['*.ts'],
      }),
    );
    const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    diagnostics = await promisify(execFile)(process.execPath, [tsc, '-p', dir], { cwd: REPO_ROOT }).then(
      () => '',
      (error: Error & { stdout?: string }) => error.stdout || error.message,
    );
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds them (README has one, docs/flags.md several)', () => {
    assert.ok(blocks.some((b) => b.file === 'README.md'));
    assert.ok(blocks.filter((b) => b.file === path.join('docs', 'flags.md')).length >= 3);
  });

  for (const block of blocks) {
    it(`${block.file}:${block.line}`, () => {
      const mine = diagnostics
        .split('\n')
        .filter((line) => line.includes(path.basename(fileOf(block))))
        .join('\n');
      assert.equal(
        mine,
        '',
        `${block.file}:${block.line} does not type-check (line N here is line N - 6 of the block):\n${mine}`,
      );
    });
  }

  it('sees a block that misuses the SDK (so the cases above can fail)', () => {
    assert.match(diagnostics, /misused\.ts\(2,\d+\): error TS\d+/);
  });
});
