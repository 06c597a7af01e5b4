import { CutoverError } from './errors.js';

/**
 * What a failed listen means to the person who wrote cutover.yaml. Node
 * reports `listen EADDRINUSE: address already in use 127.0.0.1:8080`; the
 * user needs to know which of cutover's addresses it was, which key sets it
 * and what to do. Shared by the server's start (admin API, proxy process)
 * and `cutover doctor`, so both say the same thing.
 */
export interface ListenTarget {
  /** What listens there, for the message: "the proxy", "the admin API". */
  what: string;
  /** The cutover.yaml key that sets the address: server.proxy, server.admin. */
  key: string;
  host: string;
  port: number;
  /** Said too when the address is taken: a cutover server already running may be what holds it. */
  alreadyRunningHint?: string;
}

/** A CutoverError for a listen error code a user can cause (the address is taken, forbidden or not ours); null for anything else. */
export function listenError(
  target: ListenTarget,
  errno: string | null | undefined,
  cause?: unknown,
): CutoverError | null {
  const address = formatAddress(target.host, target.port);
  const options = cause === undefined ? {} : { cause };
  switch (errno) {
    case 'EADDRINUSE':
      return new CutoverError(
        'PORT_IN_USE',
        `${target.what} cannot listen on ${address}: another program holds it (EADDRINUSE)`,
        {
          ...options,
          hint: target.alreadyRunningHint ? `${inUseFix(target)} ${target.alreadyRunningHint}` : inUseFix(target),
        },
      );
    case 'EACCES':
    case 'EPERM':
      return new CutoverError(
        'PORT_PERMISSION_DENIED',
        `${target.what} has no permission to listen on ${address} (${errno})`,
        {
          ...options,
          hint:
            target.port < 1024
              ? `Ports below 1024 need root or CAP_NET_BIND_SERVICE: change ${target.key} to a port from 1024 up (and forward the low port to it), or run \`sudo setcap cap_net_bind_service=+ep "$(command -v node)"\`.`
              : `This user may not listen on ${address} (a security policy such as SELinux or a container's seccomp profile); change ${target.key}.`,
        },
      );
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new CutoverError(
        'ADDRESS_NOT_AVAILABLE',
        `${target.what} cannot listen on ${address}: ${target.host} is not an address of this machine (${errno})`,
        {
          ...options,
          hint: `Change ${target.key} to an address this machine has (\`ip -brief address\` lists them): 127.0.0.1 for this machine only, 0.0.0.0 for every interface.`,
        },
      );
    default:
      return null;
  }
}

/** The fix for a taken address, in the words `cutover doctor` prints too. */
export function inUseFix(target: ListenTarget): string {
  const address = formatAddress(target.host, target.port);
  return `Stop what holds ${address} (ss -ltnp 'sport = :${target.port}'), or change ${target.key}.`;
}

function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
