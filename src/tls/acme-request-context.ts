import { AsyncLocalStorage } from 'node:async_hooks';
import type { Agent } from 'node:https';
import * as acme from 'acme-client';
import { acmeProblemFrom, type AcmeProblem } from './acme-problem.js';

/**
 * acme-client sends every request through one module-wide axios instance
 * (`acme.axios`) and takes no per-client agent, timeout or CA. Rather than
 * set its process-wide defaults (which would make every issuer in the
 * process trust one CA bundle), each order runs inside an AsyncLocalStorage
 * context, and two interceptors installed once apply that order's settings
 * to each of its requests:
 *
 * - the HTTPS agent carrying `server.acme.ca_bundle` (trusted besides the
 *   system roots), so only that order's requests trust it;
 * - a per-request timeout capped by the order's deadline (axios reports it
 *   as ECONNABORTED, which acme-client does not retry), and no request at
 *   all once the deadline passed, so a timed-out order stops talking to the
 *   CA instead of polling on in the background;
 * - a response size limit, since the CA's answers are read whole;
 * - the last problem document the CA sent (acme-client keeps only its
 *   `detail` in the Error it throws), so a failed order names its `type`;
 * - why acme-client last retried a request (it retries network errors and
 *   5xx on its own, with waits of 5 s and more, and says so only to its
 *   logger), so an order that runs out of time says what kept failing
 *   (an untrusted CA certificate, a refused connection, HTTP 503).
 */
export interface AcmeRequestContext {
  agent?: Agent;
  requestTimeoutMs: number;
  deadline: number;
  now: () => number;
  lastProblem?: AcmeProblem;
  /** The error code or HTTP status of the last request acme-client retried, like DEPTH_ZERO_SELF_SIGNED_CERT or HTTP 503. */
  lastRetryCause?: string;
}

/** No ACME response is near this; a bigger one is not read. */
const MAX_RESPONSE_BYTES = 1024 * 1024;

const storage = new AsyncLocalStorage<AcmeRequestContext>();
let installed = false;

/** Thrown (instead of a request) once the order's deadline passed. */
export class AcmeDeadlineError extends Error {
  override readonly name = 'AcmeDeadlineError';
}

export function runWithAcmeRequestContext<T>(context: AcmeRequestContext, work: () => Promise<T>): Promise<T> {
  installInterceptors();
  return storage.run(context, work);
}

const RETRY_LINE = /^Caught (.{1,120}?), retry attempt/;

function installInterceptors(): void {
  if (installed) return;
  installed = true;
  // acme-client's only logger is process-wide; cutover sets none elsewhere. Lines outside an order are dropped.
  acme.setLogger((message: string) => {
    const context = storage.getStore();
    const cause = context ? RETRY_LINE.exec(message)?.[1] : undefined;
    if (context && cause) context.lastRetryCause = cause;
  });
  acme.axios.interceptors.request.use((config) => {
    const context = storage.getStore();
    if (!context) return config;
    const left = context.deadline - context.now();
    if (left <= 0) throw new AcmeDeadlineError('the order ran out of time');
    if (context.agent) config.httpsAgent = context.agent;
    config.timeout = Math.max(1, Math.min(context.requestTimeoutMs, left));
    config.maxContentLength = MAX_RESPONSE_BYTES;
    config.maxBodyLength = MAX_RESPONSE_BYTES;
    config.maxRedirects = 0;
    return config;
  });
  acme.axios.interceptors.response.use((response) => {
    const context = storage.getStore();
    const contentType = String(response.headers['content-type'] ?? '');
    if (!context) return response;
    // Only the latest answer counts: a badNonce acme-client retried past must not be blamed for a later failure.
    const problem = contentType.startsWith('application/problem+json')
      ? acmeProblemFrom(response.data, response.status)
      : null;
    if (problem) context.lastProblem = problem;
    else delete context.lastProblem;
    return response;
  });
}
