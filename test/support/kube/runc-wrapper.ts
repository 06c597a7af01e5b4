import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The runc wrapper (kube/runc-clamp-oom.py) in the cluster's directory, run by this machine's python3. */
export function installRuncWrapper(dir: string, python: string): string {
  const source = fileURLToPath(new URL('../../../../test/support/kube/runc-clamp-oom.py', import.meta.url));
  const wrapper = path.join(dir, 'bin', 'runc-clamp-oom');
  fs.mkdirSync(path.dirname(wrapper), { recursive: true });
  // -I -S: no user site, no environment variables, no site module: the same script every time, started fast.
  fs.writeFileSync(wrapper, `#!${python} -IS\n${fs.readFileSync(source, 'utf8')}`, { mode: 0o755 });
  return wrapper;
}
