import fs from 'node:fs';
import path from 'node:path';

/** A program the test cluster runs (etcd, python3), or an error that names the Debian package to install. */
export function findBinary(name: string, debianPackage: string): string {
  // The system's own first: a version manager's shim on PATH (pyenv's python3 is a bash script) would run
  // on every runc call the node's dockerd makes.
  for (const dir of ['/usr/bin', '/usr/sbin', '/bin', '/sbin', ...(process.env.PATH ?? '').split(':')]) {
    if (dir && fs.existsSync(path.join(dir, name))) return path.join(dir, name);
  }
  throw new Error(`${name} not found: the Kubernetes tests need it (apt-get install -y ${debianPackage})`);
}
