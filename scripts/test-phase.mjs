// One phase of a test run: a set of compiled test files run by Node's test runner, its TAP on stdout and
// its failure summary (scripts/failure-summary-reporter.mjs) and its slowest files (slowest-files-reporter.mjs)
// in files of their own, printed once at the very end of the run by scripts/run-tests.mjs.
import { spawn } from 'node:child_process';
import path from 'node:path';

/** Runs files with Node's test runner; resolves with its exit code. */
export function runFiles(phaseFiles, concurrency, env, summaryFile) {
  const reporters = [
    ['tap', 'stdout'],
    [path.resolve('scripts/failure-summary-reporter.mjs'), summaryFile],
    [
      path.resolve('scripts/slowest-files-reporter.mjs'),
      path.join(path.dirname(summaryFile), `durations-${path.basename(summaryFile)}`),
    ],
  ].flatMap(([reporter, destination]) => [`--test-reporter=${reporter}`, `--test-reporter-destination=${destination}`]);
  const child = spawn(
    process.execPath,
    ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', ...reporters, ...phaseFiles],
    { stdio: 'inherit', env },
  );
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}
