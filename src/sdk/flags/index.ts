/**
 * `cutover/flags`: the Node SDK. Flags are evaluated locally and synchronously
 * from a set kept current by the server's stream; see docs/flags.md.
 * Nothing here imports the server (fastify, SQLite, pino): it ships to applications.
 */
export { FlagClient } from './flag-client.js';
export type { FlagChange, FlagClientState, ReadyInfo } from './flag-client.js';
export type { FlagClientOptions } from './client-options.js';
export type { EvaluateOptions, FlagEvaluation, SdkErrorCode } from './flag-evaluator.js';
export type { FlagSnapshot } from './flag-set.js';
export type { BackoffOptions } from './reconnect-backoff.js';
export type { EvaluationContext, JsonValue } from '../../flags/flag-model.js';
export type { EvaluationReason, FlagValueType } from '../../flags/evaluate.js';
export { CutoverError } from '../../core/errors.js';
