// A third test reporter: after every file has run it lists the files that took longest, from the moment the
// runner started each file's process to the moment that process ended, so the run's time can be read per
// file and SLOWEST_FIRST in scripts/run-tests.mjs kept true. Informative only: nothing fails on a duration.
import path from 'node:path';

const SHOWN = 20;

export default async function* slowestFiles(source) {
  const started = new Map();
  const took = new Map();
  for await (const event of source) {
    const { file, name, nesting } = event.data ?? {};
    // The runner reports each file as a test of its own, named by the file's path.
    if (nesting !== 0 || !file || name !== file) continue;
    if (event.type === 'test:dequeue') started.set(file, Date.now());
    else if (event.type === 'test:complete' && started.has(file)) took.set(file, Date.now() - started.get(file));
  }
  if (took.size === 0) return;
  const total = [...took.values()].reduce((sum, ms) => sum + ms, 0);
  const rows = [...took].sort((a, b) => b[1] - a[1]).slice(0, SHOWN);
  let out = `\n# the ${rows.length} slowest of ${took.size} files (${(total / 1000).toFixed(0)} s in all, run side by side):\n`;
  for (const [file, ms] of rows)
    out += `#   ${(ms / 1000).toFixed(1).padStart(6)} s  ${path.relative(process.cwd(), file)}\n`;
  yield out;
}
