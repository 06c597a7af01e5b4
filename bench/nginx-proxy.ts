import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';

/**
 * nginx as the reference keep-alive reverse proxy: one worker, an upstream
 * block with `keepalive 64`, HTTP/1.1 to the upstream with the Connection
 * header cleared, the same X-Forwarded-* headers cutover sets, access log off
 * (cutover does not log per request either). Everything lives in `dir`.
 */
export interface RunningNginx {
  port: number;
  version: string;
  /** The master's pid; its one child is the worker that does the proxying. */
  pid: number;
  stop(): Promise<void>;
}

export function nginxAvailable(): boolean {
  return spawnSync('nginx', ['-v'], { stdio: 'ignore' }).error === undefined;
}

/** A TLS listener next to the plain one (full handshakes only: no session cache, no tickets). */
export interface NginxTls {
  port: number;
  cert: string;
  key: string;
}

export function nginxConfig(
  dir: string,
  listenPort: number,
  upstreamPort: number,
  workers = 1,
  tls?: NginxTls,
): string {
  const temp = (name: string): string => path.join(dir, name);
  // BENCH_NGINX_LOG=1: one unbuffered log line per request, as the nginx router writes for its counters.
  const accessLog =
    process.env.BENCH_NGINX_LOG === '1'
      ? `log_format timed '$msec $status $request_time $upstream_status $upstream_header_time';\n  access_log ${temp('access.log')} timed;`
      : 'access_log off;';
  return `worker_processes ${workers};
error_log ${temp('error.log')} warn;
pid ${temp('nginx.pid')};
events { worker_connections 4096; }
http {
  ${accessLog}
  client_body_temp_path ${temp('client_body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  upstream app {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${listenPort};
${tls === undefined ? '' : `    listen 127.0.0.1:${tls.port} ssl;\n    ssl_certificate ${tls.cert};\n    ssl_certificate_key ${tls.key};\n    ssl_session_cache off;\n    ssl_session_tickets off;\n`}    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $http_host;
    }
  }
}
`;
}

export async function startNginx(
  dir: string,
  listenPort: number,
  upstreamPort: number,
  workers = 1,
  tls?: NginxTls,
): Promise<RunningNginx> {
  const configFile = path.join(dir, 'nginx.conf');
  fs.writeFileSync(configFile, nginxConfig(dir, listenPort, upstreamPort, workers, tls));
  const versionOutput = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  const version = (versionOutput.stderr || versionOutput.stdout).trim().replace(/^nginx version: /, '');
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', configFile, '-g', 'daemon off;'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  await waitForPort(listenPort, child);
  return {
    port: listenPort,
    version,
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGQUIT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/health`);
      await response.body?.cancel();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nginx did not open port ${port}`);
}
