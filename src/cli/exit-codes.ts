import type { ErrorCode } from '../core/errors.js';

/**
 * The CLI's exit codes, one table so scripts can branch on what happened
 * (docs/cli-exit-codes.md documents the same table). Every command maps its
 * result here; none returns a bare number of its own.
 */
export const EXIT = {
  /** The command did what it was asked: the operation succeeded (or, with --no-wait, started). */
  OK: 0,
  /** The operation failed (health, an instance exit, a smoke check, a migration...), or an unexpected error. */
  FAILED: 1,
  /** The command line or the config is wrong: nothing was started. Fix it and run again. */
  USAGE: 2,
  /** The operation was aborted (by a person, or by the server stopping) or rolled back (by analysis, Swarm, a person). */
  ABORTED: 3,
  /** Something timed out: the release's health checks (HEALTH_TIMEOUT), or the CLI's --timeout while following. */
  TIMED_OUT: 4,
  /** The server could not be reached, or refused the credentials. */
  UNREACHABLE: 5,
  /** The server refused the request in its current state (locked by another operation, nothing to roll back...): retry later. */
  REFUSED: 6,
  /** The command returned while the operation waits for a person, as designed: a deploy at `ready`, an approval gate, a canary step without a pause time. */
  WAITING: 7,
  /**
   * The command returned because the rollout paused before its end: an inconclusive analysis, a person's
   * pause (CLI, dashboard, API), a rolling batch that failed with failure_action: pause. Not the planned flow.
   */
  PAUSED: 8,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

const USAGE_ERRORS: ReadonlySet<string> = new Set<ErrorCode>([
  'CONFIG_INVALID',
  'CONFIG_NOT_FOUND',
  'BAD_REQUEST',
  // The command line itself: an unknown command or option, a missing argument (commander's errors, under --json).
  'USAGE_INVALID',
  'PAYLOAD_TOO_LARGE',
  'NOT_FOUND',
  'VERSION_INVALID',
  'TOKEN_TOO_WEAK',
  'SERVICE_NOT_FOUND',
  'CERTIFICATE_HOST_INVALID',
  'RELEASE_NOT_FOUND',
  'OPERATION_NOT_FOUND',
  'FLAG_NOT_FOUND',
  'ENVIRONMENT_NOT_FOUND',
  'SEGMENT_NOT_FOUND',
  'CLIENT_TOKEN_NOT_FOUND',
  'FLAG_ROLLOUT_NOT_FOUND',
  'BACKUP_NOT_FOUND',
  'MIGRATION_INVALID',
  'ANALYSIS_CONDITION_INVALID',
  // A deploy whose env_file is missing is refused before anything starts; `init --from` of a broken Compose file writes nothing.
  'ENV_FILE_UNREADABLE',
  'COMPOSE_INVALID',
  // The configured router cannot do what was asked (maintenance on HAProxy): a config matter, nothing changed.
  'ROUTER_UNSUPPORTED',
]);

const REFUSED_ERRORS: ReadonlySet<string> = new Set<ErrorCode>([
  'DEPLOY_LOCKED',
  'INVALID_STATE',
  'NOTHING_TO_ROLL_BACK',
  'ROLLBACK_PAST_CONTRACT',
  'FLAG_EXISTS',
  'FLAG_CONFLICT',
  'FLAG_ROLLOUT_RUNNING',
  'MIGRATION_LOCKED',
  'MIGRATION_LINT_FAILED',
  // Too many failed credentials from this address: the same request works once Retry-After has passed.
  'TOO_MANY_REQUESTS',
]);

const UNREACHABLE_ERRORS: ReadonlySet<string> = new Set<ErrorCode>([
  'SERVER_UNREACHABLE',
  'SERVER_TIMEOUT',
  'SERVER_NOT_CUTOVER',
  'UNAUTHORIZED',
  'FORBIDDEN',
]);

/** Outcomes whose error code says traffic went back (or never moved) because the release was judged or stopped. */
const ABORTED_ERRORS: ReadonlySet<string> = new Set<ErrorCode | 'ANALYSIS_FAILED'>([
  'DEPLOY_ABORTED',
  'SWARM_ROLLED_BACK',
  'KUBERNETES_ROLLED_BACK',
  'ANALYSIS_FAILED',
]);

/** The exit code of an error a command threw (an API answer or a local check). */
export function exitCodeOfError(code: string): ExitCode {
  if (USAGE_ERRORS.has(code)) return EXIT.USAGE;
  if (REFUSED_ERRORS.has(code)) return EXIT.REFUSED;
  if (UNREACHABLE_ERRORS.has(code)) return EXIT.UNREACHABLE;
  if (code === 'HEALTH_TIMEOUT') return EXIT.TIMED_OUT;
  if (ABORTED_ERRORS.has(code)) return EXIT.ABORTED;
  return EXIT.FAILED;
}

/** A paused rollout exits 8 unless the pause is the plan (a step without a pause time, an approval gate): 7. */
export function waitingCode(operation: { phase: string; state?: unknown }): ExitCode {
  if (operation.phase !== 'paused') return EXIT.WAITING;
  const pausedBy = (operation.state as { pausedBy?: string | null } | null | undefined)?.pausedBy;
  return pausedBy === 'step' || pausedBy === 'approval' ? EXIT.WAITING : EXIT.PAUSED;
}

/**
 * What a followed operation ended in (or stopped at), as an exit code. A
 * health timeout says "timed out" even when the strategy then rolled back;
 * any other failure that put traffic back (phase `rolled-back`) says "rolled back".
 */
export function exitCodeOfOutcome(
  operation: {
    outcome: 'succeeded' | 'failed' | 'aborted' | null;
    error: { code: string } | null;
    phase: string;
    state?: unknown;
  },
  waiting: boolean,
): ExitCode {
  const { outcome, error } = operation;
  if (outcome === 'succeeded') return EXIT.OK;
  if (outcome === null) return waiting ? waitingCode(operation) : EXIT.FAILED;
  if (outcome === 'aborted') return EXIT.ABORTED;
  if (error?.code === 'HEALTH_TIMEOUT') return EXIT.TIMED_OUT;
  if (operation.phase === 'rolled-back') return EXIT.ABORTED;
  return error ? exitCodeOfError(error.code) : EXIT.FAILED;
}
