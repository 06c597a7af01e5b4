// Runs every compiled test file (dist/test/**/*.test.js) with Node's test
// runner, two files at a time, then the Kubernetes runtime's files on one
// shared cluster. `node --test dist/test/` also ran every support module
// under the folder (27 of them: harnesses, fixtures, the contract suites'
// definitions), each in a process of its own, for nothing.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runFiles } from './test-phase.mjs';

const ROOT = 'dist/test';

// The slowest files (real servers, 23 s or more each in a full run: the run's durations summary lists them),
// started first: with two files at a time, a long file picked up last keeps one slot busy while the other
// idles, which cost about a minute in alphabetical order. Only the order depends on this list; a stale or
// missing entry changes nothing.
// The two Swarm files are kept apart: each runs its Swarm only in the machine's one Swarm turn
// (test/support/swarm-daemon.ts), so started side by side, as they were, one of them waited out the other's
// whole Swarm in its slot, doing nothing (swarm-deploys took 108 s in the last full run, swarm-multi-node
// 64). swarm-multi-node starts only once the five files after swarm-deploys (about 200 s one after the other
// in the other slot) have started: swarm-deploys has ended by then (and were it still running, the turn
// would keep them apart, as before).
const SLOWEST_FIRST = [
  'runtime/swarm/swarm-deploys',
  'runtime/docker/docker-deploys',
  'server/controller-crash-keeps-traffic',
  'examples/stack-walkthrough',
  'runtime/docker/docker-runtime',
  'cli/exit-codes',
  'runtime/swarm/swarm-multi-node',
  'cli/cli-and-restart',
  'runtime/docker/docker-daemon-down',
  'controller/canary-prometheus',
  'cli/canary-resume',
  'controller/blue-green',
  'controller/crash-in-post-promotion-window',
  'dashboard/dashboard-consistency',
  'cli/following-operations',
  'examples/readme-prometheus-template',
  'server/https-edge',
  'server/maintenance-under-load',
  'server/nginx-acme-edge',
  'controller/rolling',
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

// Every test file is a node process of its own, and so is each `cutover` CLI and server it starts: each one
// reads and parses the bundle NODE_EXTRA_CA_CERTS names at start-up, where the environment sets it (the CI
// machine sets it to the system's bundle: about 70 ms a process on its two cores, hundreds of processes a
// run). What the tests reach runs on this machine, with the test CAs passed explicitly: none of it needs it.
const testEnv = { ...process.env };
delete testEnv.NODE_EXTRA_CA_CERTS;

const summaryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-test-summary-'));

// With no file named, `node --test` would look for tests everywhere under the working directory.
let failed =
  mainFiles.length > 0 && (await runFiles(mainFiles, 2, testEnv, path.join(summaryDir, 'phase-1.txt'))) !== 0;
if (kubernetesFiles.length > 0) {
  // In a network namespace of its own: the cluster's pod network (a bridge, a veth pair per pod) is made
  // there and goes with it, touching no interface of this machine.
  const child = spawn(
    'bash',
    ['scripts/in-netns.sh', process.execPath, 'scripts/run-kube-tests.mjs', summaryDir, ...kubernetesFiles],
    { stdio: 'inherit', env: testEnv },
  );
  const code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
  if (code !== 0) failed = true;
  // The phase could not even begin (no namespace: not root, no `ip`): its own output said why, far above.
  if (code !== 0 && !['phase-2.txt', 'kubernetes-cluster.txt'].some((f) => fs.existsSync(path.join(summaryDir, f))))
    fs.writeFileSync(
      path.join(summaryDir, 'kubernetes-phase.txt'),
      `\n# the Kubernetes phase did not run (exit ${code}): see the output of scripts/in-netns.sh above\n`,
    );
}

for (const name of fs.readdirSync(summaryDir).sort())
  process.stdout.write(fs.readFileSync(path.join(summaryDir, name), 'utf8'));
fs.rmSync(summaryDir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
