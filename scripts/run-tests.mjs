// Runs every compiled test file (dist/test/**/*.test.js) with Node's test
// runner, two files at a time. `node --test dist/test/` also ran every
// support module under the folder (27 of them: harnesses, fixtures, the
// contract suites' definitions), each in a process of its own, for nothing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const ROOT = 'dist/test';

// The slowest files (real servers, 25 s or more each in the last full run), started first: with two files
// at a time, a long file picked up last keeps one slot busy while the other idles, which cost about a
// minute in alphabetical order. Only the order depends on this list; a stale or missing entry changes nothing.
const SLOWEST_FIRST = [
  'server/controller-crash-keeps-traffic',
  'runtime/swarm/swarm-deploys',
  'cli/exit-codes',
  'cli/following-operations',
  'cli/cli-and-restart',
  'controller/rolling',
  'server/proxy-workers',
  'examples/stack-walkthrough',
  'examples/newcomer',
  'dashboard/dashboard-consistency',
  'controller/canary-prometheus',
  'runtime/docker/docker-deploys',
  'controller/blue-green',
  'examples/readme-prometheus-template',
  'controller/crash-in-post-promotion-window',
  'cli/canary-restart',
].map((name) => path.join(ROOT, `${name}.test.js`));
const files = fs
  .readdirSync(ROOT, { recursive: true })
  .map((name) => String(name))
  .filter((name) => name.endsWith('.test.js'))
  .sort()
  .map((name) => path.join(ROOT, name));
const rank = (file) => (SLOWEST_FIRST.includes(file) ? SLOWEST_FIRST.indexOf(file) : SLOWEST_FIRST.length);
files.sort((a, b) => rank(a) - rank(b));

const reporters = [
  ['tap', 'stdout'],
  [path.resolve('scripts/failure-summary-reporter.mjs'), 'stdout'],
].flatMap(([reporter, destination]) => [`--test-reporter=${reporter}`, `--test-reporter-destination=${destination}`]);
const child = spawn(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=240000', ...reporters, ...files],
  { stdio: 'inherit' },
);
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
