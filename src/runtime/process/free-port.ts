import net from 'node:net';

/**
 * Ports handed out recently. The kernel may return the same ephemeral port to
 * two bind(0) calls in a row once the first socket is closed; two instances
 * started at the same moment must not both get it.
 */
const recentlyGiven = new Map<number, number>();
const REMEMBER_MS = 60_000;
const ATTEMPTS = 20;

/**
 * A port that is free right now on `host`: bind port 0, read the port, close.
 * Another program could take it before the instance binds; the health check
 * then fails and the deploy stops before any traffic moves.
 */
export async function findFreePort(host = '127.0.0.1'): Promise<number> {
  const now = Date.now();
  for (const [port, at] of recentlyGiven) if (now - at > REMEMBER_MS) recentlyGiven.delete(port);
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const port = await bindAndRelease(host);
    if (!recentlyGiven.has(port)) {
      recentlyGiven.set(port, now);
      return port;
    }
  }
  throw new Error(`no free port found on ${host} after ${ATTEMPTS} attempts`);
}

function bindAndRelease(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen({ host, port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error(`could not read the port bound on ${host}`))));
    });
  });
}
