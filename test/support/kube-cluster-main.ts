import fs from 'node:fs';
import path from 'node:path';
import { startKubeCluster } from './kube-cluster.js';
import { kubeClusterInfo } from './kube-cluster-shared.js';

/**
 * Runs the test Kubernetes cluster for scripts/run-tests.mjs: starts it,
 * writes its KubeClusterInfo to <cluster dir>/cluster.json (mode 0600),
 * prints one line of JSON, { infoFile, kubeconfigPath, startedInMs, milestones }, on
 * stdout, and stops the cluster when its stdin closes (the runner exits
 * or closes it) or on SIGTERM/SIGINT. If the cluster does not start, the
 * error (with the components' logs) goes to stderr and the exit code is 1.
 */
const started = Date.now();
let stopping: Promise<void> | undefined;

try {
  const cluster = await startKubeCluster();
  const stop = (): Promise<void> => (stopping ??= cluster.stop().finally(() => process.exit(0)));
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
  process.stdin.on('end', () => void stop());
  process.stdin.on('error', () => void stop());
  process.stdin.resume();
  const infoFile = path.join(cluster.dir, 'cluster.json');
  fs.writeFileSync(infoFile, JSON.stringify(kubeClusterInfo(cluster)), { mode: 0o600 });
  const ready = { infoFile, kubeconfigPath: cluster.kubeconfigPath, startedInMs: Date.now() - started };
  process.stdout.write(`${JSON.stringify({ ...ready, milestones: cluster.milestones })}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
