import type { Evaluation } from './evaluate.js';
import type { Flag, JsonValue } from './flag-model.js';

/**
 * The OpenFeature Remote Evaluation Protocol's answers (OFREP, the
 * open-feature/protocol OpenAPI file), built from cutover's evaluation:
 * pure, so the routes (ofrep-routes.ts) only pick the status code.
 *
 * Reasons are cutover's (DISABLED, TARGETING_MATCH, SPLIT, DEFAULT), with one
 * refinement OpenFeature defines: a flag with no rules and no rollout cannot
 * answer anyone differently, so its default is STATIC (a provider may cache it).
 */

export type OfrepErrorCode = 'FLAG_NOT_FOUND' | 'PARSE_ERROR' | 'TARGETING_KEY_MISSING' | 'INVALID_CONTEXT' | 'GENERAL';

export type OfrepReason = 'STATIC' | 'DEFAULT' | 'TARGETING_MATCH' | 'SPLIT' | 'DISABLED';

/** OFREP metadata: flat, each value a boolean, a string or a number. */
export type OfrepMetadata = Record<string, boolean | string | number>;

export interface OfrepSuccess {
  key: string;
  value: JsonValue;
  reason: OfrepReason;
  variant: string;
  metadata?: OfrepMetadata;
}

export interface OfrepFailure {
  key: string;
  errorCode: OfrepErrorCode;
  errorDetails: string;
}

export type OfrepAnswer = OfrepSuccess | OfrepFailure;

/** The context keys one request may carry: far above what targeting needs, far below what costs the server. */
export const MAX_CONTEXT_KEYS = 100;
/** The longest context key; attribute names are short. */
export const MAX_CONTEXT_KEY_LENGTH = 256;

/** What a client-side token may see of one evaluation: the value and its variant, nothing of the rules. */
export type Audience = 'server' | 'client';

export function ofrepAnswer(
  flag: Flag,
  evaluation: Evaluation,
  audience: Audience,
  metadata: OfrepMetadata = {},
): OfrepAnswer {
  if (evaluation.reason === 'ERROR') {
    return {
      key: flag.key,
      // Without an expected type the evaluation cannot mismatch; anything but a parse error is GENERAL.
      errorCode: evaluation.errorCode === 'PARSE_ERROR' ? 'PARSE_ERROR' : 'GENERAL',
      errorDetails: evaluation.errorMessage ?? 'the flag could not be evaluated',
    };
  }
  const reason: OfrepReason = evaluation.reason === 'DEFAULT' && isStatic(flag) ? 'STATIC' : evaluation.reason;
  const answer: OfrepSuccess = { key: flag.key, value: evaluation.value, reason, variant: evaluation.variant! };
  if (audience === 'server') {
    answer.metadata = evaluation.ruleIndex === undefined ? metadata : { ...metadata, ruleIndex: evaluation.ruleIndex };
  }
  return answer;
}

/** Enabled, and nothing that could tell one user from another. */
export function isStatic(flag: Flag): boolean {
  return flag.enabled && flag.rules.length === 0 && flag.rollout === null;
}

export function notFound(key: string): OfrepFailure {
  return { key, errorCode: 'FLAG_NOT_FOUND', errorDetails: `no flag "${key}"` };
}

/**
 * The evaluation context of a request body, or why it is refused. OFREP's
 * context is a JSON object; `targetingKey`, when present, must be a string
 * (the OpenFeature type): it is the sticky key of every rollout that sticks
 * by `targetingKey` or `userId` (evaluate.ts, stickinessKey). A context
 * without one is valid, as it is in the SDK: the user is in no rollout.
 */
export function readContext(
  body: unknown,
): { ok: true; context: Record<string, unknown> } | { ok: false; errorCode: OfrepErrorCode; errorDetails: string } {
  if (body === undefined || body === null) return { ok: true, context: {} };
  if (typeof body !== 'object' || Array.isArray(body))
    return { ok: false, errorCode: 'INVALID_CONTEXT', errorDetails: 'expected a JSON object { "context": {...} }' };
  const context = (body as { context?: unknown }).context;
  if (context === undefined || context === null) return { ok: true, context: {} };
  if (typeof context !== 'object' || Array.isArray(context))
    return { ok: false, errorCode: 'INVALID_CONTEXT', errorDetails: 'context: expected a JSON object' };
  const keys = Object.keys(context);
  if (keys.length > MAX_CONTEXT_KEYS)
    return {
      ok: false,
      errorCode: 'INVALID_CONTEXT',
      errorDetails: `context: ${keys.length} keys, at most ${MAX_CONTEXT_KEYS} are accepted`,
    };
  const long = keys.find((key) => key.length > MAX_CONTEXT_KEY_LENGTH);
  if (long !== undefined)
    return {
      ok: false,
      errorCode: 'INVALID_CONTEXT',
      errorDetails: `context: a key of ${long.length} characters, at most ${MAX_CONTEXT_KEY_LENGTH}`,
    };
  const targetingKey = (context as { targetingKey?: unknown }).targetingKey;
  if (targetingKey !== undefined && typeof targetingKey !== 'string')
    return {
      ok: false,
      errorCode: 'TARGETING_KEY_MISSING',
      errorDetails: `context.targetingKey: expected a string, got ${targetingKey === null ? 'null' : typeof targetingKey}`,
    };
  return { ok: true, context: context as Record<string, unknown> };
}
