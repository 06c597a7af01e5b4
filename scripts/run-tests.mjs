// Runs every compiled test file (dist/test/**/*.test.js) with Node's test
// runner, two files at a time, then the Kubernetes runtime's files on one
// shared cluster. `node --test dist/test/` also ran every support module
// under the folder (27 of them: harnesses, fixtures, the contract suites'
// definitions), each in a process of its own, for nothing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
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

// The Kubernetes runtime's files share one real cluster (test/support/kube-cluster.ts: etcd, the control
// plane, a kubelet and its dockerd), started once after every other file has run, so its start-up and its
// idle CPU stay out of the main phase's timing-sensitive tests, and stopped after the last of them. They run
// one at a time: they share the one node, and the control plane already takes a share of the two cores.
const KUBERNETES = path.join(ROOT, 'runtime', 'kubernetes') + path.sep;
const mainFiles = files.filter((file) => !file.startsWith(KUBERNETES));
const kubernetesFiles = files.filter((file) => file.startsWith(KUBERNETES));

const summaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-test-summary-'));
let phases = 0;

/** Runs files with Node's test runner; its failure summary goes to a file, printed once at the very end. */
function runFiles(phaseFiles, concurrency, env) {
  const summary = path.join(summaryDir, `phase-${++phases}.txt`);
  const reporters = [
    ['tap', 'stdout'],
    [path.resolve('scripts/failure-summary-reporter.mjs'), summary],
  ].flatMap(([reporter, destination]) => [`--test-reporter=${reporter}`, `--test-reporter-destination=${destination}`]);
  const child = spawn(
    process.execPath,
    ['--test', `--test-concurrency=${concurrency}`, '--test-timeout=240000', ...reporters, ...phaseFiles],
    { stdio: 'inherit', env },
  );
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0))));
}

/** Starts the run's cluster (kube-cluster-main.js): its connection details, or the error it printed. */
function startCluster() {
  const child = spawn(process.execPath, [path.join(ROOT, 'support', 'kube-cluster-main.js')], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // A cluster that failed to start has exited: closing its stdin must not throw EPIPE here.
  child.stdin.on('error', () => {});
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const ready = new Promise((resolve) => {
    child.stdout.on('data', () => {
      if (!stdout.includes('\n')) return;
      const line = stdout.slice(0, stdout.indexOf('\n'));
      try {
        resolve({ info: JSON.parse(line) });
      } catch {
        resolve({ error: `kube-cluster-main printed ${line.slice(0, 500)}` });
      }
    });
    exited.then(() => resolve({ error: stderr.trim() || `kube-cluster-main exited without a word` }));
  });
  // Closing its stdin stops the cluster (and so does this process's exit, whatever its cause).
  const stop = async (started) => {
    child.stdin.end();
    await exited;
    if (started && stderr.trim())
      process.stdout.write(`# kubernetes cluster, on stopping: ${stderr.trim().split('\n').join('\n# ')}\n`);
  };
  return { ready, stop };
}

// With no file named, `node --test` would look for tests everywhere under the working directory.
let failed = mainFiles.length > 0 && (await runFiles(mainFiles, 2, process.env)) !== 0;
if (kubernetesFiles.length > 0) {
  const startedAt = Date.now();
  const cluster = startCluster();
  const outcome = await cluster.ready;
  if (outcome.error !== undefined) {
    failed = true;
    fs.writeFileSync(
      path.join(summaryDir, 'kubernetes-cluster.txt'),
      `\n# the test Kubernetes cluster did not start, so ${kubernetesFiles.length} file(s) did not run:\n` +
        `${outcome.error}\n`,
    );
  } else {
    const steps = Object.entries(outcome.info.milestones ?? {}).map(
      ([step, ms]) => `${step} ${(ms / 1000).toFixed(1)} s`,
    );
    process.stdout.write(
      `# kubernetes cluster up in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (${steps.join(', ')})\n`,
    );
    const env = {
      ...process.env,
      CUTOVER_TEST_KUBE_CLUSTER: outcome.info.infoFile,
      CUTOVER_TEST_KUBECONFIG: outcome.info.kubeconfigPath,
    };
    if ((await runFiles(kubernetesFiles, 1, env)) !== 0) failed = true;
  }
  await cluster.stop(outcome.error === undefined);
}

for (const name of fs.readdirSync(summaryDir).sort())
  process.stdout.write(fs.readFileSync(path.join(summaryDir, name), 'utf8'));
fs.rmSync(summaryDir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
