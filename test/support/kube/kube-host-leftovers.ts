import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/**
 * The kubelet of 1.20 writes under fixed host paths, whatever its
 * --root-dir: its pods' log links (/var/log/pods/<namespace>_<pod>_<uid>/
 * and /var/log/containers/*.log, which point into them) and its device
 * plugin socket (/var/lib/kubelet/device-plugins/kubelet.sock). When a
 * test cluster stops, the entries of its own pods (by uid) go, and the
 * device plugin directory goes unless a live kubelet (another cluster
 * running at the same time) still answers on its socket.
 */
const POD_LOGS = '/var/log/pods';
const CONTAINER_LOGS = '/var/log/containers';
const KUBELET_DIR = '/var/lib/kubelet';
const DEVICE_PLUGINS = path.join(KUBELET_DIR, 'device-plugins');

export async function removeHostLeftovers(podUids: string[]): Promise<void> {
  removePodLogs(podUids);
  await removeDevicePluginDir();
}

function removePodLogs(podUids: string[]): void {
  if (podUids.length === 0) return;
  const uids = new Set(podUids);
  const removed: string[] = [];
  for (const name of readDir(POD_LOGS)) {
    const uid = name.split('_').at(-1) ?? '';
    if (!uids.has(uid)) continue;
    const full = path.join(POD_LOGS, name);
    fs.rmSync(full, { recursive: true, force: true });
    removed.push(`${full}/`);
  }
  for (const name of readDir(CONTAINER_LOGS)) {
    const link = path.join(CONTAINER_LOGS, name);
    let points: string;
    try {
      points = fs.readlinkSync(link);
    } catch {
      continue;
    }
    if (removed.some((dir) => points.startsWith(dir))) fs.rmSync(link, { force: true });
  }
}

async function removeDevicePluginDir(): Promise<void> {
  const socket = path.join(DEVICE_PLUGINS, 'kubelet.sock');
  if (!fs.existsSync(socket) || (await answers(socket))) return;
  for (const name of ['kubelet.sock', 'DEPRECATION', 'kubelet_internal_checkpoint'])
    fs.rmSync(path.join(DEVICE_PLUGINS, name), { force: true });
  for (const dir of [DEVICE_PLUGINS, KUBELET_DIR]) {
    try {
      fs.rmdirSync(dir); // only when empty: anything else there is not ours
    } catch {
      return;
    }
  }
}

function answers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const connection = net.connect(socket);
    connection.setTimeout(1_000);
    connection.once('connect', () => {
      connection.destroy();
      resolve(true);
    });
    connection.once('timeout', () => {
      connection.destroy();
      resolve(false);
    });
    connection.once('error', () => resolve(false));
  });
}

function readDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}
