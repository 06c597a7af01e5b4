// The Kubernetes phase of a test run (scripts/run-tests.mjs runs it in a network namespace of its own,
// through scripts/in-netns.sh): starts the run's one cluster, runs the given files one at a time on it,
// stops it. Usage: node scripts/run-kube-tests.mjs <summary dir> <file>...
// Their failure summary goes to <summary dir>/phase-2.txt; a cluster that did not start is said in
// <summary dir>/kubernetes-cluster.txt, so the run's last lines show it.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runFiles } from './test-phase.mjs';

const [summaryDir, ...files] = process.argv.slice(2);
if (summaryDir === undefined || files.length === 0) {
  process.stderr.write('usage: node scripts/run-kube-tests.mjs <summary dir> <file>...\n');
  process.exit(2);
}

/** Starts the run's cluster (kube-cluster-main.js): its connection details, or the error it printed. */
function startCluster() {
  const child = spawn(process.execPath, [path.join('dist', 'test', 'support', 'kube-cluster-main.js')], {
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

const startedAt = Date.now();
const cluster = startCluster();
const outcome = await cluster.ready;
let failed = false;
if (outcome.error !== undefined) {
  failed = true;
  fs.writeFileSync(
    path.join(summaryDir, 'kubernetes-cluster.txt'),
    `\n# the test Kubernetes cluster did not start, so ${files.length} file(s) did not run:\n${outcome.error}\n`,
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
  if ((await runFiles(files, 1, env, path.join(summaryDir, 'phase-2.txt'))) !== 0) failed = true;
}
await cluster.stop(outcome.error === undefined);
process.exit(failed ? 1 : 0);
