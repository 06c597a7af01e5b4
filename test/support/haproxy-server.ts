import { spawnSync } from 'node:child_process';

/** True when the haproxy binary runs (the HAProxy router's tests need the real one). */
export function haproxyInstalled(): boolean {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).error === undefined;
}
