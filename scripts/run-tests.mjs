// Runs every compiled test file (dist/test/**/*.test.js) with Node's test
// runner, two files at a time. `node --test dist/test/` also ran every
// support module under the folder (27 of them: harnesses, fixtures, the
// contract suites' definitions), each in a process of its own, for nothing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = 'dist/test';
const files = fs
  .readdirSync(ROOT, { recursive: true })
  .map((name) => String(name))
  .filter((name) => name.endsWith('.test.js'))
  .sort()
  .map((name) => path.join(ROOT, name));

const child = spawn(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=240000', ...files], {
  stdio: 'inherit',
});
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
