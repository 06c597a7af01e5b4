import type { CanaryState } from '../core/canary-strategy.js';
import { CutoverError } from '../core/errors.js';
import type { LockRecord, OperationRecord, ReleaseRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { RunProgress } from './strategy-runner.js';

/**
 * What a DEPLOY_LOCKED refusal says: which operation holds the service, what
 * it is doing, until when, and the choices that really exist. The store only
 * knows who took the lock; a newcomer told "wait or abort" during a
 * post-promotion window aborted, and so rolled production back. So the
 * refusal names what abort would do once traffic has moved, and offers
 * `cutover finish` to keep the new release.
 */
export interface LockFacts {
  service: string;
  lock: LockRecord;
  operation: OperationRecord | null;
  /** The release the operation brings, and the one that served before it. */
  release: ReleaseRecord | null;
  previous: ReleaseRecord | null;
  progress: RunProgress | null;
}

const named = (release: ReleaseRecord | null, fallback: string): string =>
  release ? `${release.version} (${release.id})` : fallback;

/** `2026-12-02T15:42:10Z`: a refusal is read by people in other time zones than the server's, and by scripts. */
export function formatInstant(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}Z`;
}

/** The refusal for a locked service (pure: everything it says comes in `facts`). */
export function lockedError(facts: LockFacts): CutoverError {
  const { service, lock, operation, release, previous, progress } = facts;
  const since = formatInstant(lock.acquiredAt);
  if (operation === null) {
    return new CutoverError(
      'DEPLOY_LOCKED',
      `service '${service}' is locked by ${lock.holder} (operation ${lock.operationId}) since ${since}`,
      { details: lock, hint: `Run \`cutover status ${service}\` to see what runs; it frees the lock when it ends.` },
    );
  }
  const phase = progress?.phase ?? operation.phase;
  const canary: CanaryState | undefined = progress?.canary;
  const windowEndsAt = progress?.windowEndsAt ?? null;
  const inWindow = phase === 'watching' || phase === 'post-promotion';
  const what = inWindow
    ? `is in the post_promotion window of ${named(release, 'the new release')}, which serves all traffic` +
      (windowEndsAt !== null ? `, until ${formatInstant(windowEndsAt)}` : '')
    : canary && !canary.promoted
      ? `is a canary of ${named(release, 'the new release')} at ${canary.weight}% (step ${canary.stepIndex + 1}/${canary.steps.length}, ${canary.pausedBy ? `paused: ${canary.pausedBy}` : phase})`
      : `is at phase ${phase}`;
  // The holder and the time first, as before this explanation existed: scripts and people matched on them.
  const message = `service '${service}' is locked by ${lock.holder} since ${since}: ${operation.kind} ${operation.id} ${what}`;
  const details = {
    ...lock,
    kind: operation.kind,
    phase,
    releaseId: operation.releaseId,
    previousReleaseId: operation.fromReleaseId,
    until: windowEndsAt,
  };
  if (inWindow) {
    const wait =
      windowEndsAt !== null
        ? `Wait until ${formatInstant(windowEndsAt)}, when the window ends by itself, or choose now: `
        : 'Choose: ';
    return new CutoverError('DEPLOY_LOCKED', message, {
      details,
      hint:
        wait +
        `\`cutover finish ${service}\` ends the window keeping ${named(release, 'the new release')}; ` +
        `\`cutover abort ${service}\` rolls back to ${named(previous, 'the previous release')}.`,
    });
  }
  if (operation.kind === 'deploy') {
    const moved = canary !== undefined && canary.weight > 0;
    const stays = previous
      ? `all traffic ${moved ? 'returns to' : 'stays on'} ${named(previous, '')}`
      : 'no other release serves';
    return new CutoverError('DEPLOY_LOCKED', message, {
      details,
      hint: `Wait for it to end (\`cutover status ${service}\`), or \`cutover abort ${service}\` stops it: ${stays}.`,
    });
  }
  return new CutoverError('DEPLOY_LOCKED', message, {
    details,
    hint: `Wait for the ${operation.kind} to end (\`cutover status ${service}\` shows it); it frees the lock.`,
  });
}

/** The facts of a DEPLOY_LOCKED error the store threw, gathered from the store and the runner in flight. */
export function explainLock(
  store: Store,
  progressOf: (service: string) => RunProgress | null,
  error: CutoverError,
): CutoverError {
  const lock = error.details as LockRecord | undefined;
  if (error.code !== 'DEPLOY_LOCKED' || !lock?.operationId) return error;
  const operation = store.getOperation(lock.operationId);
  const progress = operation && operation.outcome === null ? progressOf(lock.service) : null;
  return lockedError({
    service: lock.service,
    lock,
    operation,
    release: operation?.releaseId ? store.getRelease(operation.releaseId) : null,
    previous: operation?.fromReleaseId ? store.getRelease(operation.fromReleaseId) : null,
    progress,
  });
}
