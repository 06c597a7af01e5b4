import type { Router, Upstream } from '../../src/router/index.js';

/**
 * The shapes the router contract suite (router-contract.ts) drives a router
 * through. A real router's harness sends HTTP and opens WebSockets to small
 * backends (router-contract-http.ts); the fake's calls its route(), begin()
 * and upgrade() (fake-router-contract.test.ts). Either way a case learns which
 * backend answered, so a case reads the same against every router.
 */
export interface ContractRequest {
  host: string;
  headers?: Readonly<Record<string, string>>;
  cookies?: Readonly<Record<string, string>>;
  /** The status the backend answers (default 200). */
  status?: number;
}

export interface ContractResponse {
  status: number;
  /** The backend that answered, or null when the router answered itself (404, 503). */
  backend: string | null;
  /** The router's Set-Cookie (a sticky id it made up), or null. */
  setCookie: string | null;
}

/** A request the backend has received and holds until `finish`. */
export interface HeldRequest {
  readonly backend: string;
  finish(status?: number): Promise<ContractResponse>;
}

/** An upgraded (WebSocket) connection through the router. */
export interface ContractSocket {
  /** Sends a message; resolves with the backend that echoed it. Rejects once the connection is closed. */
  echo(): Promise<string>;
  /** Resolves when the connection closed (by either side). */
  readonly closed: Promise<void>;
  close(): void;
}

export interface ContractClient {
  /** One request on a connection of its own (a reload of a real router cannot race it on an idle kept-alive one). */
  send(request: ContractRequest): Promise<ContractResponse>;
  /** Many requests over a few kept-alive connections, answers in order: for the counting cases. */
  sendMany(requests: readonly ContractRequest[]): Promise<ContractResponse[]>;
  /** Sends a request and resolves once a backend holds it in flight. */
  hold(request: ContractRequest): Promise<HeldRequest>;
  openWebSocket(request: ContractRequest): Promise<ContractSocket>;
  /**
   * A `GET /` written by hand with exactly these header lines, repeated or malformed ones too (which an HTTP
   * client refuses to send), on a connection of its own. Left out by a client that speaks no HTTP (the fake's).
   */
  sendHead?(lines: readonly string[]): Promise<ContractResponse>;
}

/** A backend answering with its name; each case starts its own, so connection counts are its own. */
export interface ContractBackend {
  readonly name: string;
  upstream(id: string): Upstream;
  /** Connections open to it from the router (kept-alive, busy or upgraded). */
  openConnections(): number;
}

export interface RouterHarness {
  readonly router: Router;
  readonly client: ContractClient;
  newBackend(): Promise<ContractBackend>;
  /**
   * Arranges for the router to refuse the next config it is given, the way
   * it really can (nginx: `nginx -t` fails); resolves to the undo. Left out
   * by a router that has no such failure (declare the case skipped).
   */
  refuseNextConfig?(): Promise<() => Promise<void>>;
  /** Moves the router's clock on, for a router on a manual clock (the fake); real routers' timers run by themselves. */
  passTime?(ms: number): Promise<void>;
  close(): Promise<void>;
}
