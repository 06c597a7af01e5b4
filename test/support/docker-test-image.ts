import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DockerDaemon } from './docker-daemon.js';
import { REPO_ROOT, SAMPLE_APP } from './cutover-harness.js';

/**
 * The sample app as a Docker image, built offline (there is no registry
 * here): a root filesystem of this machine's own Node binary and /bin/sh, the shared
 * libraries it links (from `ldd`), examples/sample-app and the `ws` package
 * it imports, given to `docker import`. The tarball is cached by the hash of
 * what goes in, so a test run builds it once. Each version is then a tiny
 * image FROM it with APP_VERSION baked in, so a "bad image" is bad by itself,
 * not by the config's env.
 */
export const SAMPLE_IMAGE = 'cutover-sample';

export interface SampleVersion {
  /** Image tag and APP_VERSION, e.g. v2 or v3-errors30 (see examples/sample-app/server.js for the modes). */
  tag: string;
  /** Adds a Docker HEALTHCHECK that asks the app's /health every second ('failing': one that always fails). Its 10 s timeout is for a loaded machine, where starting the probe's node can take seconds (2 s made Swarm roll back good updates). */
  healthcheck?: boolean | 'failing';
  /** Failed checks in a row before Docker calls it unhealthy (default 2). Swarm kills an unhealthy task: tests on a busy machine want more. */
  healthRetries?: number;
}

const NODE = process.execPath;
const SHELL = fs.existsSync('/bin/dash') ? '/bin/dash' : '/bin/sh';

export async function loadSampleImage(daemon: DockerDaemon, versions: SampleVersion[]): Promise<void> {
  const tarball = sampleRootfsTarball();
  await daemon.cli([
    'import',
    '--change',
    'WORKDIR /app',
    '--change',
    'CMD ["/usr/bin/node", "server.js"]',
    tarball,
    `${SAMPLE_IMAGE}:base`,
  ]);
  for (const version of versions) {
    const lines = [`FROM ${SAMPLE_IMAGE}:base`, `ENV APP_VERSION=${version.tag}`];
    if (version.healthcheck) {
      const probe =
        version.healthcheck === 'failing'
          ? 'process.exit(1)'
          : // Under runtime: swarm the check does not inherit the wrapper's PORT: it computes it as the wrapper does.
            'const e = process.env; const port = e.CUTOVER_PORT_BASE ? Number(e.CUTOVER_PORT_BASE) + Number(e.CUTOVER_TASK_SLOT) - 1 : e.PORT; ' +
            'fetch("http://127.0.0.1:" + port + "/health").then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))';
      lines.push(
        `HEALTHCHECK --interval=1s --timeout=10s --retries=${version.healthRetries ?? 2} CMD ${JSON.stringify(['/usr/bin/node', '-e', probe])}`,
      );
    }
    // Built without a context (Dockerfile on stdin): nothing to send, nothing to pull, the base is local.
    await daemon.cli(['build', '-q', '-t', `${SAMPLE_IMAGE}:${version.tag}`, '-'], `${lines.join('\n')}\n`);
  }
}

/** Files of the root filesystem: [path on this machine, path in the image]. */
function rootfsFiles(): [string, string][] {
  // /bin/sh (this machine's dash): runtime: swarm runs the command through a small shell wrapper.
  const files: [string, string][] = [
    [NODE, '/usr/bin/node'],
    [fs.realpathSync(SHELL), '/bin/sh'],
  ];
  const libraries = new Set<string>();
  for (const binary of [NODE, SHELL]) {
    const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
    for (const match of ldd.matchAll(/(\/\S+\.so[^\s]*)/g)) libraries.add(match[1] as string);
  }
  for (const library of libraries) files.push([fs.realpathSync(library), library]);
  for (const name of fs.readdirSync(SAMPLE_APP)) files.push([path.join(SAMPLE_APP, name), `/app/${name}`]);
  const ws = path.join(REPO_ROOT, 'node_modules', 'ws');
  for (const file of listFiles(ws)) files.push([file, `/app/node_modules/ws/${path.relative(ws, file)}`]);
  return files;
}

function sampleRootfsTarball(): string {
  const files = rootfsFiles();
  const hash = createHash('sha256');
  for (const [from, to] of files) {
    const stat = fs.statSync(from);
    hash.update(`${to}\0${stat.size}\0${stat.mtimeMs}\0`);
    if (from.startsWith(REPO_ROOT)) hash.update(fs.readFileSync(from));
  }
  const cacheDir = path.join(os.tmpdir(), 'cutover-docker-image-cache');
  const tarball = path.join(cacheDir, `sample-rootfs-${hash.digest('hex').slice(0, 16)}.tar`);
  if (fs.existsSync(tarball)) return tarball;

  fs.mkdirSync(cacheDir, { recursive: true });
  const root = fs.mkdtempSync(path.join(cacheDir, 'rootfs-'));
  try {
    for (const [from, to] of files) {
      fs.mkdirSync(path.join(root, path.dirname(to)), { recursive: true });
      fs.copyFileSync(from, path.join(root, to));
      fs.chmodSync(path.join(root, to), fs.statSync(from).mode & 0o777);
    }
    fs.mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
    const partial = `${tarball}.${process.pid}.partial`;
    execFileSync('tar', ['-C', root, '-cf', partial, '.']);
    // Atomic: two test files building at once each write their own partial file.
    fs.renameSync(partial, tarball);
    // Older builds (another Node binary, an edited sample app) would only fill the disk.
    for (const name of fs.readdirSync(cacheDir)) {
      if (name.startsWith('sample-rootfs-') && name.endsWith('.tar') && path.join(cacheDir, name) !== tarball)
        fs.rmSync(path.join(cacheDir, name), { force: true });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  return tarball;
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full) : [full];
  });
}
