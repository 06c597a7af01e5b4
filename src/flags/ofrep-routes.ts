import { createHash } from 'node:crypto';
import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { CutoverError } from '../core/errors.js';
import type { FailedAuthThrottle } from '../core/failed-auth-throttle.js';
import { tokenMatches, tooManyFailures } from '../http/admin-token.js';
import type { ClientTokenInfo, ClientTokens } from './client-tokens.js';
import { evaluateFlag } from './evaluate.js';
import type { FlagService } from './flag-service.js';
import { notFound, ofrepAnswer, readContext, type OfrepErrorCode } from './ofrep-answers.js';
import { grantCors } from './ofrep-cors.js';
import { OfrepEvaluationTally } from './ofrep-evaluation-tally.js';

/**
 * OFREP on the flag server (docs/flags.md, "Any language: OFREP"): any
 * OpenFeature SDK with an OFREP provider (Node, the browser, Python, Go,
 * Java, .NET) evaluates cutover's flags over HTTP.
 *
 *   POST /ofrep/v1/evaluate/flags/{key}   one flag (server providers)
 *   POST /ofrep/v1/evaluate/flags         every flag the caller may see, with ETag / If-None-Match → 304
 *
 * Credentials, as `Authorization: Bearer <token>` or `X-API-Key: <token>`
 * (the spec's two schemes): the admin or the SDK token see every flag of the
 * environment `?environment=` or `X-Cutover-Environment` names (default: the
 * first); a client-side token
 * sees only its own environment's flags marked `clientVisible`, and only
 * their values and variants. A flag hidden from a client token answers as if
 * it did not exist, so a page cannot probe for server-only flag names.
 *
 * The evaluation is evaluate.ts, the SDK's own, so a `targetingKey` lands in
 * the same bucket it does in the Node SDK; what was evaluated is counted into
 * the SDKs' evaluation counts (ofrep-evaluation-tally.ts).
 */
export interface OfrepRouteDeps {
  flags: FlagService;
  clientTokens: ClientTokens;
  token: string;
  sdkToken: string;
  /** Shared with the admin API, so a guesser gets one budget whichever door it knocks on. */
  throttle: FailedAuthThrottle;
  /** `flags.client.allowed_origins`. */
  allowedOrigins: readonly string[];
  /** How often OFREP's evaluation counts are written (default 2 s); 0: only at close. */
  countFlushMs?: number;
}

/** The largest request body: a context is a few attributes; 64 KiB is generous and cheap to refuse past. */
export const OFREP_BODY_LIMIT = 64 * 1024;

type Caller = { audience: 'server' } | { audience: 'client'; token: ClientTokenInfo };

interface OfrepRequest {
  Params: { key?: string };
  Querystring: { environment?: string };
  Body: unknown;
}

export async function registerOfrepRoutes(app: FastifyInstance, deps: OfrepRouteDeps): Promise<{ close(): void }> {
  const { flags } = deps;
  const tally = new OfrepEvaluationTally(
    (environment, counts) => flags.recordEvaluations(environment, counts),
    deps.countFlushMs ?? 2_000,
  );
  const origins = new Set(deps.allowedOrigins);
  const callers = new WeakMap<FastifyRequest, Caller>();

  await app.register(async (scope) => {
    scope.addHook('onRequest', async (request, reply) => {
      const granted = grantCors(request, reply, origins);
      if (request.method === 'OPTIONS') {
        // A preflight carries no credentials; a wrong origin gets no grant, so the browser sends nothing more.
        if (granted) await reply.code(204).send();
        else await reply.code(403).send({ errorDetails: `origin not allowed: add it to flags.client.allowed_origins` });
        return;
      }
      const caller = authenticate(request, deps);
      if (caller instanceof CutoverError) {
        if (caller.code === 'TOO_MANY_REQUESTS') reply.header('retry-after', String(caller.details));
        await reply.code(caller.status).send({ errorDetails: caller.message });
        return;
      }
      callers.set(request, caller);
    });

    scope.setErrorHandler((error: FastifyError | CutoverError, request, reply) => {
      const key = (request.params as { key?: string } | undefined)?.key;
      if (error instanceof CutoverError && (error.status === 401 || error.status === 403))
        return reply.code(error.status).send({ errorDetails: error.message });
      if (error instanceof CutoverError && error.status < 500)
        return reply.code(400).send(failure(key, 'GENERAL', error.message));
      const status = error instanceof CutoverError ? error.status : error.statusCode;
      // The body could not be read: not JSON, too large, another media type. All are the context's fault.
      if (status !== undefined && status >= 400 && status < 500)
        return reply.code(400).send(failure(key, 'INVALID_CONTEXT', bodyProblem(error)));
      return reply.code(500).send({ errorDetails: 'the flag server failed to evaluate; its log has the details' });
    });

    scope.options('/ofrep/*', async (_request, reply) => reply.code(204).send());

    scope.post<OfrepRequest>(
      '/ofrep/v1/evaluate/flags/:key',
      { bodyLimit: OFREP_BODY_LIMIT },
      async (request, reply) => {
        const caller = callers.get(request)!;
        const key = request.params.key!;
        const environment = environmentOf(caller, askedEnvironment(request), flags);
        const read = readContext(request.body);
        if (!read.ok) return reply.code(400).send(failure(key, read.errorCode, read.errorDetails));
        const stored = flags.find(environment, key);
        if (stored === null || !visibleTo(caller, stored.flag.clientVisible))
          return reply.code(404).send(notFound(key));
        const evaluation = evaluateFlag(stored.flag, read.context, flags.segments(environment));
        tally.add(environment, key, evaluation.variant);
        const answer = ofrepAnswer(stored.flag, evaluation, caller.audience, {
          environment,
          flagVersion: stored.version,
        });
        return reply.code('errorCode' in answer ? 400 : 200).send(answer);
      },
    );

    scope.post<OfrepRequest>('/ofrep/v1/evaluate/flags', { bodyLimit: OFREP_BODY_LIMIT }, async (request, reply) => {
      const caller = callers.get(request)!;
      const environment = environmentOf(caller, askedEnvironment(request), flags);
      const read = readContext(request.body);
      if (!read.ok) return reply.code(400).send({ errorCode: read.errorCode, errorDetails: read.errorDetails });
      const segments = flags.segments(environment);
      const evaluated = flags
        .list(environment)
        .flags.filter((stored) => visibleTo(caller, stored.flag.clientVisible))
        .map((stored) => {
          const evaluation = evaluateFlag(stored.flag, read.context, segments);
          const metadata = { environment, flagVersion: stored.version };
          return { evaluation, answer: ofrepAnswer(stored.flag, evaluation, caller.audience, metadata) };
        });
      const body = JSON.stringify({ flags: evaluated.map((entry) => entry.answer) });
      // The ETag is the answer's own digest: equal exactly when the answer is, whatever changed to make it so.
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      reply.header('etag', etag);
      if (etagMatches(request.headers['if-none-match'], etag)) return reply.code(304).send();
      // A 304 changes nothing the client holds; a 200 is one evaluation of each flag it carries.
      for (const { answer, evaluation } of evaluated) tally.add(environment, answer.key, evaluation.variant);
      return reply.code(200).type('application/json; charset=utf-8').send(body);
    });
  });

  return { close: () => tally.close() };
}

/** Who is asking, or the error to answer: 401 without or with a wrong credential, 429 after too many wrong ones. */
function authenticate(request: FastifyRequest, deps: OfrepRouteDeps): Caller | CutoverError {
  const credential = credentialOf(request);
  if (credential === null)
    return new CutoverError('UNAUTHORIZED', 'send a token as Authorization: Bearer <token> or X-API-Key: <token>');
  const retryAfter = deps.throttle.retryAfterSeconds(request.ip);
  if (retryAfter > 0) {
    const error = tooManyFailures(request.ip, retryAfter);
    return new CutoverError(error.code, error.message, { details: retryAfter });
  }
  const asBearer = `Bearer ${credential}`;
  if (tokenMatches(deps.token, asBearer) || tokenMatches(deps.sdkToken, asBearer)) return { audience: 'server' };
  const client = deps.clientTokens.verify(credential);
  if (client !== null) return { audience: 'client', token: client };
  deps.throttle.recordFailure(request.ip);
  return new CutoverError('UNAUTHORIZED', 'unknown or revoked token');
}

function credentialOf(request: FastifyRequest): string | null {
  const header = request.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) return header.slice('Bearer '.length).trim() || null;
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() !== '' ? apiKey.trim() : null;
}

/**
 * `?environment=`, or the `X-Cutover-Environment` header: most OFREP providers
 * build the URL themselves from a base URL and cannot carry a query, but all
 * of them take extra headers.
 */
function askedEnvironment(request: FastifyRequest<OfrepRequest>): string | undefined {
  const header = request.headers['x-cutover-environment'];
  return request.query.environment ?? (typeof header === 'string' ? header : undefined);
}

/** A client token is bound to its environment; the others choose with askedEnvironment. */
function environmentOf(caller: Caller, asked: string | undefined, flags: FlagService): string {
  if (caller.audience === 'server') return flags.environment(asked);
  if (asked !== undefined && asked !== '' && asked !== caller.token.environment)
    throw new CutoverError(
      'FORBIDDEN',
      `this client-side token evaluates flags of ${caller.token.environment}, not ${asked}`,
    );
  return caller.token.environment;
}

function visibleTo(caller: Caller, clientVisible: boolean | undefined): boolean {
  return caller.audience === 'server' || clientVisible === true;
}

function failure(key: string | undefined, errorCode: OfrepErrorCode, errorDetails: string) {
  return key === undefined ? { errorCode, errorDetails } : { key, errorCode, errorDetails };
}

function bodyProblem(error: FastifyError | CutoverError): string {
  if ('statusCode' in error && error.statusCode === 413) return `the request body is over ${OFREP_BODY_LIMIT} bytes`;
  return `the request body: ${error.message}`;
}

/** If-None-Match: `*`, or a list of tags, weak (`W/"..."`) or strong; compared weakly (RFC 9110, 13.1.2). */
export function etagMatches(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const text = Array.isArray(header) ? header.join(',') : header;
  if (text.trim() === '*') return true;
  return text.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
