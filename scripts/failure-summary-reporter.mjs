// A second test reporter, next to TAP: after every file has run it prints the failed tests again,
// each with its file and error. CI shows only part of a long run's output; with 2,000 tests and
// more, one failure in the middle of the TAP stream is otherwise out of sight.
import path from 'node:path';

const MAX_LINES = 25;

function describe(error) {
  const cause = error?.cause ?? error;
  const text = cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause);
  // Frames inside Node's test runner say nothing about the failure.
  const lines = text.split('\n').filter((line) => !/^\s+at .*\((node:|file:\/\/\/.*node_modules)/.test(line));
  const kept = lines.slice(0, MAX_LINES);
  if (lines.length > MAX_LINES) kept.push(`… ${lines.length - MAX_LINES} more lines`);
  return kept.map((line) => `    ${line}`).join('\n');
}

export default async function* failureSummary(source) {
  const failed = [];
  for await (const event of source) {
    if (event.type !== 'test:fail') continue;
    // A suite fails when one of its tests fails; the test itself is the one worth naming.
    if (event.data.details?.error?.failureType === 'subtestsFailed') continue;
    failed.push(event.data);
  }
  if (failed.length === 0) return;
  let out = `\n# ${failed.length} failed test${failed.length === 1 ? '' : 's'}:\n`;
  for (const test of failed) {
    const file = test.file ? path.relative(process.cwd(), test.file) : '(unknown file)';
    out += `\n✖ ${file} › ${test.name}\n${describe(test.details?.error)}\n`;
  }
  yield out;
}
