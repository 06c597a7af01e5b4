import net from 'node:net';
import { findFreePort } from '../process/free-port.js';

const ATTEMPTS = 30;

/**
 * A first port P such that P .. P+count-1 are all free on `host` right now,
 * and none of them is in `avoid` (the ports of a generation still running:
 * a start-first update runs old and new tasks side by side on one host
 * network). As with findFreePort, another program could take one before a
 * task binds it; its health check then fails and no traffic moves.
 */
export async function findFreePortRange(
  host: string,
  count: number,
  avoid: ReadonlySet<number> = new Set(),
): Promise<number> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const base = await findFreePort(host);
    if (base + count - 1 > 65535) continue;
    const ports = Array.from({ length: count }, (_, i) => base + i);
    if (ports.some((port) => avoid.has(port))) continue;
    const free = await Promise.all(ports.slice(1).map((port) => isFree(host, port)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no ${count} consecutive free ports found on ${host} after ${ATTEMPTS} attempts`);
}

function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}
