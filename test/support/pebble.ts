import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort } from '../../src/runtime/process/free-port.js';

/**
 * A real ACME CA for the tests: Debian's pebble (RFC 8555 test server) with
 * pebble-challtestsrv as its DNS server, all on 127.0.0.1 and free ports.
 *
 * - challtestsrv answers every A query with 127.0.0.1 (and no AAAA, so the
 *   CA never tries ::1 where nothing listens); setDnsA() overrides one host,
 *   e.g. to 127.0.0.2 where nothing listens, for a refused order. Its own
 *   HTTP-01, HTTPS and TLS-ALPN-01 responders are switched off: the test's
 *   responder answers on `httpPort` / `tlsPort`, which pebble is told to use.
 * - pebble's HTTPS certificate: the Debian package ships neither pebble's
 *   minica root nor its localhost certificate (only the example config that
 *   names them), so a throwaway self-signed one for 127.0.0.1 is made with
 *   openssl; `caBundlePem` is that certificate, what `server.acme.ca_bundle`
 *   must trust.
 * - PEBBLE_VA_NOSLEEP=1 (no random validation delay), PEBBLE_WFE_NONCEREJECT=0
 *   (no random badNonce), PEBBLE_AUTHZREUSE=0 (each order validates again,
 *   so a second order of a host really answers a challenge).
 *
 * stop() ends both processes (SIGTERM, SIGKILL after 5 s) and removes the
 * temp directory.
 */
export const PEBBLE_BIN = process.env.PEBBLE_BIN ?? '/usr/bin/pebble';
export const CHALLTESTSRV_BIN = process.env.CHALLTESTSRV_BIN ?? '/usr/bin/pebble-challtestsrv';

export interface PebbleOptions {
  /** The port pebble connects to for HTTP-01 (the test responder's plain port). */
  httpPort: number;
  /** The port pebble connects to for TLS-ALPN-01 (the test responder's TLS port). */
  tlsPort: number;
}

export interface Pebble {
  directoryUrl: string;
  /** PEM of the certificate pebble's own HTTPS (directory and management) presents. */
  caBundlePem: string;
  /** The root that issues pebble's certificates (changes with every start), from its management interface. */
  rootPem(): Promise<string>;
  /** challtestsrv answers `ip` for A queries of `host` (instead of 127.0.0.1). */
  setDnsA(host: string, ip: string): Promise<void>;
  /** Back to the default answer (127.0.0.1) for `host`. */
  clearDnsA(host: string): Promise<void>;
  /** The last 20,000 characters both processes wrote. */
  output(): string;
  stop(): Promise<void>;
}

export async function startPebble(options: PebbleOptions): Promise<Pebble> {
  for (const bin of [PEBBLE_BIN, CHALLTESTSRV_BIN])
    assert.ok(
      existsSync(bin),
      `${bin} is missing: install the Debian package pebble (apt-get install -y pebble, or scripts/install-test-servers.sh)`,
    );
  const dir = await mkdtemp(join(tmpdir(), 'cutover-pebble-'));
  const children: ChildProcess[] = [];
  let output = '';
  const collect = (name: string) => (chunk: Buffer) => {
    output = (output + chunk.toString().replace(/^/gm, `${name}: `)).slice(-20_000);
  };
  const start = (name: string, bin: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess => {
    const child = spawn(bin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    child.stdout?.on('data', collect(name));
    child.stderr?.on('data', collect(name));
    children.push(child);
    return child;
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(children.map(stopChild));
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };

  try {
    const certFile = join(dir, 'pebble-https.pem');
    const keyFile = join(dir, 'pebble-https.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        '2',
        '-subj',
        '/CN=pebble test HTTPS',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'pipe' },
    );
    const caBundlePem = await readFile(certFile, 'utf8');

    const [dnsPort, challtestsrvManagementPort, pebblePort, pebbleManagementPort] = await Promise.all([
      findFreePort(),
      findFreePort(),
      findFreePort(),
      findFreePort(),
    ]);
    const challtestsrv = `http://127.0.0.1:${challtestsrvManagementPort}`;
    start('challtestsrv', CHALLTESTSRV_BIN, [
      '-dns01',
      `127.0.0.1:${dnsPort}`,
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-management',
      `127.0.0.1:${challtestsrvManagementPort}`,
      '-defaultIPv4',
      '127.0.0.1',
      '-defaultIPv6',
      '',
    ]);

    const config = {
      pebble: {
        listenAddress: `127.0.0.1:${pebblePort}`,
        managementListenAddress: `127.0.0.1:${pebbleManagementPort}`,
        certificate: certFile,
        privateKey: keyFile,
        httpPort: options.httpPort,
        tlsPort: options.tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    };
    await writeFile(join(dir, 'pebble-config.json'), JSON.stringify(config, null, 2));
    start('pebble', PEBBLE_BIN, ['-config', join(dir, 'pebble-config.json'), '-dnsserver', `127.0.0.1:${dnsPort}`], {
      PEBBLE_VA_NOSLEEP: '1',
      PEBBLE_WFE_NONCEREJECT: '0',
      PEBBLE_AUTHZREUSE: '0',
    });

    const directoryUrl = `https://127.0.0.1:${pebblePort}/dir`;
    const management = `https://127.0.0.1:${pebbleManagementPort}`;
    await waitFor('pebble and challtestsrv were not ready', 15_000, children, async () => {
      await httpsGet(directoryUrl, caBundlePem);
      // challtestsrv's management API answers 404 at / once it listens.
      await plainRequest('GET', `${challtestsrv}/`);
    });

    return {
      directoryUrl,
      caBundlePem,
      rootPem: () => httpsGet(`${management}/roots/0`, caBundlePem),
      async setDnsA(host: string, ip: string) {
        await plainRequest('POST', `${challtestsrv}/add-a`, { host: fqdn(host), addresses: [ip] });
      },
      async clearDnsA(host: string) {
        await plainRequest('POST', `${challtestsrv}/clear-a`, { host: fqdn(host) });
      },
      output: () => output,
      stop,
    };
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n${output.slice(-3000)}`, { cause: error });
  }
}

/** challtestsrv keys its records by fully qualified name. */
function fqdn(host: string): string {
  return host.endsWith('.') ? host : `${host}.`;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitFor(
  what: string,
  timeoutMs: number,
  children: ChildProcess[],
  probe: () => Promise<void>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await probe();
      return;
    } catch (error) {
      const exited = children.find((child) => child.exitCode !== null || child.signalCode !== null);
      if (exited) throw new Error(`${what}: a process exited (${exited.exitCode ?? exited.signalCode})`);
      if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms: ${(error as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** GET over HTTPS trusting only `ca`; the body as text, a non-2xx status throws. */
export function httpsGet(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = https.get(url, { ca, timeout: 5000, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () =>
        (response.statusCode ?? 0) < 300
          ? resolve(body)
          : reject(new Error(`GET ${url}: ${response.statusCode} ${body.slice(0, 200)}`)),
      );
    });
    request.on('timeout', () => request.destroy(new Error(`GET ${url}: timed out`)));
    request.on('error', reject);
  });
}

/** A plain HTTP request; any answer (even 404) resolves, only a connection failure rejects. */
function plainRequest(method: string, url: string, json?: object): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = json === undefined ? undefined : JSON.stringify(json);
    const request = http.request(url, { method, timeout: 5000, agent: false }, (response) => {
      response.resume();
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        if (method === 'POST' && status >= 300) reject(new Error(`${method} ${url}: ${status}`));
        else resolve(status);
      });
    });
    request.on('timeout', () => request.destroy(new Error(`${method} ${url}: timed out`)));
    request.on('error', reject);
    request.end(body);
  });
}
