import path from 'node:path';

export interface ProxyPaths {
  dir: string;
  socket: string;
  options: string;
  pid: string;
  log: string;
}

/**
 * Where the proxy process keeps its files, under the state directory: the
 * control socket, the options it was started with and its pid. Its log is
 * `<state_dir>/logs/proxy.log`, beside the instances' logs.
 */
export function proxyPaths(stateDir: string): ProxyPaths {
  const dir = path.join(stateDir, 'proxy');
  return {
    dir,
    socket: path.join(dir, 'control.sock'),
    options: path.join(dir, 'options.json'),
    pid: path.join(dir, 'proxy.pid'),
    log: path.join(stateDir, 'logs', 'proxy.log'),
  };
}
