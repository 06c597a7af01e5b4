import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * One test Kubernetes cluster at a time on this machine. The kubelet of 1.20
 * keeps its pods' log links under the fixed /var/log/pods, and its garbage
 * collector removes every directory there whose pod it does not know, about
 * once a minute: two clusters at once (a file run on its own next to the
 * suite's cluster) delete each other's pod logs, and `logs` through the API
 * fails. A cluster waits its turn (at most WAIT_MS, then goes ahead anyway,
 * as a killed run's turn must not block the next); a turn whose holder died
 * is taken over at once.
 */
const TURN = path.join(os.tmpdir(), 'cutover-test-kube-cluster.turn');
const WAIT_MS = 180_000;

export async function takeKubeTurn(): Promise<() => void> {
  const giveUpAt = Date.now() + WAIT_MS;
  while (Date.now() < giveUpAt) {
    try {
      fs.writeFileSync(TURN, String(process.pid), { flag: 'wx' });
      const release = (): void => releaseKubeTurn();
      process.once('exit', release);
      return () => {
        process.removeListener('exit', release);
        release();
      };
    } catch {
      // 0: the file is there but its holder has not written its pid yet.
      const pid = holder();
      if (pid > 0 && !isAlive(pid)) fs.rmSync(TURN, { force: true });
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  return () => {};
}

function releaseKubeTurn(): void {
  if (holder() === process.pid) fs.rmSync(TURN, { force: true });
}

function holder(): number {
  try {
    return Number(fs.readFileSync(TURN, 'utf8').trim() || '0');
  } catch {
    return 0;
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
