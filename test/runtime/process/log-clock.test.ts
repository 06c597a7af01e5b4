import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { compareLogTimes, LogClock } from '../../../src/runtime/process/log-clock.js';
import { tailLines } from '../../../src/runtime/process/log-files.js';

// The instance logs keep no time: the server dates their lines by when it first saw them (issue 20, item 13).
describe('the log clock', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-log-clock-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('dates a line by the first look that saw it whole; what was there before, by the file’s last change', async () => {
    const file = path.join(dir, 'blue-0.log');
    fs.writeFileSync(file, 'old 1\nold 2\n');
    const mtime = fs.statSync(file).mtimeMs;
    const start = Math.ceil(mtime) + 60_000;
    let now = start;
    const clock = new LogClock(() => now);
    clock.observe(file);
    now += 1000;
    fs.appendFileSync(file, 'new 1\n');
    clock.observe(file);
    now += 1000;
    fs.appendFileSync(file, 'new 2\nnew 3\n');
    clock.observe(file);
    now += 1000;
    fs.appendFileSync(file, 'unseen\n');
    const dated = (await tailLines(file, 10)).map((l) => ({ text: l.text, time: clock.timeOf(file, l.end).time }));
    assert.deepEqual(dated, [
      { text: 'old 1', time: mtime },
      { text: 'old 2', time: mtime },
      { text: 'new 1', time: start + 1000 },
      { text: 'new 2', time: start + 2000 },
      { text: 'new 3', time: start + 2000 },
      { text: 'unseen', time: start + 3000 },
    ]);
  });

  it('orders two looks in the same millisecond, and starts again on a truncated (rotated) file', () => {
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    fs.writeFileSync(a, '');
    fs.writeFileSync(b, '');
    // Every look in one and the same millisecond, later than the files' creation.
    const now = Date.now() + 60_000;
    const clock = new LogClock(() => now);
    clock.observe(a);
    clock.observe(b);
    fs.appendFileSync(b, 'b first\n');
    clock.observe(b);
    fs.appendFileSync(a, 'a second\n');
    clock.observe(a);
    assert.ok(compareLogTimes(clock.timeOf(b, 8), clock.timeOf(a, 9)) < 0, 'b was seen first');
    fs.truncateSync(a, 0);
    fs.appendFileSync(a, 'x\n');
    clock.observe(a);
    assert.ok(compareLogTimes(clock.timeOf(b, 8), clock.timeOf(a, 2)) < 0, 'after the rotation, a new look');
  });
});
