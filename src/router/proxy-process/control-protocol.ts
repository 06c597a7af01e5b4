import { CutoverError, isCutoverError, type ErrorCode } from '../../core/errors.js';
import type { AcmeChallenges, ServiceRoute } from '../index.js';

/**
 * The control protocol between the controller and the proxy process: JSON
 * lines over a Unix socket in the state directory (owner-only, like the rest
 * of it). The controller asks, the proxy answers with the same id; the proxy
 * also pushes events (an instance ejected by passive health) without one.
 *
 * Every route change carries a version the proxy acknowledges: `setRoute`
 * resolves once the proxy serves that version, and a controller that comes
 * back after a crash reads which version (and routes) the proxy holds.
 */
export const PROTOCOL_VERSION = 1;

/** A line longer than this is an attack or a bug: the connection is closed. */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

export type ControlRequest =
  | { id: number; op: 'hello' }
  | { id: number; op: 'setRoute'; route: ServiceRoute }
  | { id: number; op: 'setUpstreamHealthy'; upstreamId: string; healthy: boolean }
  | { id: number; op: 'setAcmeChallenges'; challenges: AcmeChallenges }
  | { id: number; op: 'drain'; service: string; releaseId: string; timeoutMs: number }
  | { id: number; op: 'drainUpstream'; upstreamId: string; timeoutMs: number }
  | { id: number; op: 'counters' }
  | { id: number; op: 'latencySamples'; service: string; releaseId: string }
  | { id: number; op: 'stop' }
  | { id: number; op: 'handover'; drainTimeoutMs: number; successor?: SuccessorProgram };

/** The proxy program a handover starts (a newer cutover build's), with its options file; default: the running one's. */
export interface SuccessorProgram {
  main: string;
  optionsFile: string;
}

export type ControlOp = ControlRequest['op'];

/** What `hello` answers: who this proxy is, so a restarted controller knows what it adopts. */
export interface ProxyIdentity {
  protocol: number;
  pid: number;
  /** Random per proxy process: a different one after a crash means the routes must be given again. */
  generation: string;
  startedAt: string;
  listen: { host: string; port: number };
  /** The digest of the options the proxy was started with (listen address, workers, build, client limits, policies). */
  optionsDigest: string;
  /** Processes accepting on the listening socket: this one and its workers. */
  workers: number;
  /** The worker processes' pids, as of this answer (a dead worker is replaced under a new pid). */
  workerPids: number[];
  /** The last route version applied, and the routes it holds. */
  routeVersion: number;
  routes: ServiceRoute[];
  /** Upstreams marked unhealthy by the controller. */
  unhealthy: string[];
}

export type ControlReply =
  { id: number; ok: true; result: unknown } | { id: number; ok: false; error: { code: string; message: string } };

export interface ControlEvent {
  event: 'ejection';
  data: unknown;
}

/**
 * Splits a byte stream into lines and parses each as JSON. A line over
 * MAX_LINE_BYTES or one that is not JSON calls `onBad` (the caller closes
 * the connection): the peer is broken or hostile either way.
 */
export class LineReader {
  private buffered = '';

  constructor(
    private readonly onMessage: (message: unknown) => void,
    private readonly onBad: (reason: string) => void,
  ) {}

  push(chunk: string): void {
    this.buffered += chunk;
    let newline = this.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      if (line.length > 0) {
        let message: unknown;
        try {
          message = JSON.parse(line);
        } catch {
          this.onBad('a control line is not JSON');
          return;
        }
        this.onMessage(message);
      }
      newline = this.buffered.indexOf('\n');
    }
    if (this.buffered.length > MAX_LINE_BYTES) {
      this.buffered = '';
      this.onBad(`a control line is longer than ${MAX_LINE_BYTES} bytes`);
    }
  }
}

export function encodeLine(message: ControlRequest | ControlReply | ControlEvent): string {
  return `${JSON.stringify(message)}\n`;
}

/** Carries out `work` and turns its outcome into the reply to request `id`; an error keeps its code. */
export async function replyTo(id: number, work: () => Promise<unknown>): Promise<ControlReply> {
  try {
    return { id, ok: true, result: (await work()) ?? null };
  } catch (error) {
    const code = isCutoverError(error) ? error.code : 'INTERNAL';
    return { id, ok: false, error: { code, message: (error as Error).message } };
  }
}

/** The error a refusing reply carries, with the same code (a broken peer's reply without one: INTERNAL). */
export function replyError(reply: unknown): CutoverError {
  const error = (reply as { error?: { code?: string; message?: string } } | null)?.error;
  return new CutoverError((error?.code ?? 'INTERNAL') as ErrorCode, error?.message ?? 'the proxy refused');
}
