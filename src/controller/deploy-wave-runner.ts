import { deployWaves } from '../core/deploy-order.js';
import { CutoverError } from '../core/errors.js';
import { assertValidVersion } from '../core/version-grammar.js';
import type { OperationRecord } from '../store/records.js';
import type { RunnerContext } from './runner-context.js';
import type { DeployRequest } from './strategy-runner.js';
import { newOperationId } from './operation-ids.js';

/**
 * A multi-service deploy (`POST /api/v1/deploys`, `cutover deploy --all`):
 * the services in waves (core/deploy-order.ts: every non-critical service side
 * by side, then each critical one alone), each deployed with its own strategy
 * and gates (an approval-gated blue-green waits for `cutover approve`). The
 * next wave starts only when every deploy of the wave before succeeded; the
 * first failure ends the wave operation: later waves are not started, and the
 * services already updated stay on the new version (the report lists them).
 * Progress is persisted in the operation's state after every step, so a
 * restarted server resumes the wave where it was.
 */
export const WAVE_SERVICE = '*';
export const WAVE_KIND = 'deploy-wave';

export interface DeployWaveRequest {
  version: string;
  /** Only these services (in config order); all by default. */
  services?: string[];
  /** Switch blue-green services without waiting for promote; never skips an approval gate. */
  autoSwitch?: boolean;
  autoCleanup?: boolean;
  skipHealth?: boolean;
  actor: string;
}

export interface WaveState {
  strategy: 'deploy-wave';
  version: string;
  waves: string[][];
  /** The wave in progress (waves.length once all succeeded). */
  index: number;
  /** The deploy operation of each service started so far. */
  deploys: Record<string, string>;
  autoSwitch: boolean | null;
  autoCleanup: boolean | null;
  skipHealth: boolean;
}

export interface WaveServiceProgress {
  service: string;
  wave: number;
  /** pending (its wave has not started), running, waiting (for promote, approve or resume), or its outcome. */
  progress: 'pending' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'aborted';
  operationId: string | null;
  phase: string | null;
}

export interface WaveSummary {
  id: string;
  version: string;
  actor: string;
  startedAt: number;
  /** The wave in progress, from 1. */
  wave: number;
  waves: number;
  services: WaveServiceProgress[];
}

export class DeployWaveRunner {
  private readonly running = new Map<string, Promise<void>>();
  private closing = false;

  constructor(
    private readonly ctx: RunnerContext,
    /** The controller's own deploy of one service (lock, release, strategy). */
    private readonly deploy: (name: string, request: DeployRequest) => Promise<OperationRecord>,
    private readonly now: () => number = () => ctx.clock.now(),
  ) {}

  start(request: DeployWaveRequest): OperationRecord {
    // Before anything is recorded: a version outside the grammar never reaches an event, a state or a wave.
    assertValidVersion(request.version);
    const configured = Object.values(this.ctx.config.services);
    const unknown = (request.services ?? []).filter((name) => !this.ctx.config.services[name]);
    if (unknown.length > 0) this.ctx.service(unknown[0]!);
    const chosen = request.services ? configured.filter((s) => request.services!.includes(s.name)) : configured;
    if (chosen.length === 0) throw new CutoverError('BAD_REQUEST', 'no service to deploy');
    const waves = deployWaves(chosen.map((s) => ({ name: s.name, critical: s.critical })));
    const now = this.now();
    const id = newOperationId(now);
    // One wave at a time: two would race for the same services' locks.
    this.ctx.store.acquireLock(WAVE_SERVICE, id, request.actor, now);
    const state: WaveState = {
      strategy: 'deploy-wave',
      version: request.version,
      waves,
      index: 0,
      deploys: {},
      autoSwitch: request.autoSwitch ?? null,
      autoCleanup: request.autoCleanup ?? null,
      skipHealth: request.skipHealth ?? false,
    };
    const operation = this.ctx.store.createOperation({
      id,
      service: WAVE_SERVICE,
      kind: WAVE_KIND,
      releaseId: null,
      fromReleaseId: null,
      actor: request.actor,
      phase: phaseOf(state),
      state,
      startedAt: now,
    });
    this.record(
      operation,
      'wave.started',
      `deploy of ${request.version} to ${chosen.length} service(s) in ${waves.length} wave(s) started by ${request.actor}: ${waves.map((w, i) => `${i + 1}) ${w.join(', ')}`).join('; ')}`,
      { waves },
    );
    this.run(operation, state, new Set());
    return operation;
  }

  /** The multi-service deploy in progress, if any, service by service (for status and the dashboard). */
  current(): WaveSummary | null {
    const lock = this.ctx.store.getLock(WAVE_SERVICE);
    const operation = lock ? this.ctx.store.getOperation(lock.operationId) : null;
    const state = operation ? waveStateOf(operation.state) : null;
    if (!operation || !state || operation.outcome) return null;
    const services = state.waves.flatMap((wave, index) =>
      wave.map((name): WaveServiceProgress => {
        const deploy = state.deploys[name] ? this.ctx.store.getOperation(state.deploys[name]) : null;
        const progress =
          deploy?.outcome ??
          (deploy ? (deploy.phase === 'ready' || deploy.phase === 'paused' ? 'waiting' : 'running') : 'pending');
        return {
          service: name,
          wave: index + 1,
          progress,
          operationId: deploy?.id ?? null,
          phase: deploy?.phase ?? null,
        };
      }),
    );
    return {
      id: operation.id,
      version: state.version,
      actor: operation.actor,
      startedAt: operation.startedAt,
      wave: Math.min(state.index + 1, state.waves.length),
      waves: state.waves.length,
      services,
    };
  }

  /**
   * After a restart: goes on with every unfinished wave. A deploy of the wave
   * that the restart itself aborted (`restartAborted`) is started again, since
   * the service did not fail; one that failed or was aborted by a person stops the wave.
   */
  resume(restartAborted: ReadonlySet<string>): void {
    for (const operation of this.ctx.store.unfinishedOperations()) {
      const state = waveStateOf(operation.state);
      if (operation.kind !== WAVE_KIND || !state) continue;
      this.record(
        operation,
        'wave.resumed',
        `the controller restarted during the deploy of ${state.version}: going on with wave ${Math.min(state.index + 1, state.waves.length)} of ${state.waves.length}`,
      );
      this.run(operation, state, restartAborted);
    }
  }

  async close(): Promise<void> {
    // The waves wait on their services' operations; those stop with the controller, and the next start resumes the wave.
    this.closing = true;
    this.running.clear();
  }

  private run(operation: OperationRecord, state: WaveState, restartAborted: ReadonlySet<string>): void {
    const work = this.drive(operation, state, restartAborted).catch((error: unknown) => {
      if (this.closing) return;
      const failure = { code: 'INTERNAL', message: `the deploy wave failed unexpectedly: ${(error as Error).message}` };
      this.record(operation, 'wave.failed', failure.message, undefined, 'error');
      this.ctx.lifecycle.completeOperation(operation.id, WAVE_SERVICE, 'failed', failure, this.now());
    });
    this.running.set(operation.id, work);
    void work.finally(() => this.running.delete(operation.id));
  }

  private async drive(
    operation: OperationRecord,
    initial: WaveState,
    restartAborted: ReadonlySet<string>,
  ): Promise<void> {
    let state = initial;
    const done: string[] = state.waves.slice(0, state.index).flat();
    while (state.index < state.waves.length) {
      const wave = state.waves[state.index]!;
      if (wave.every((name) => !state.deploys[name])) {
        this.record(
          operation,
          'wave.wave-started',
          `wave ${state.index + 1} of ${state.waves.length}: ${wave.join(', ')}`,
          { index: state.index, services: wave },
        );
      }
      const outcomes = new Map<string, OperationRecord>();
      const ended: { stop: { service: string; operation: OperationRecord } | null; over: boolean } = {
        stop: null,
        over: false,
      };
      // Each service's deploy; the wave ends at the first failure without waiting for the others (one may wait for an approval forever).
      await new Promise<void>((resolveWave) => {
        let pending = wave.length;
        for (const name of wave) {
          void this.deployOne(operation, state, name, restartAborted)
            .then((deploy) => {
              if (ended.over) return null;
              state = { ...state, deploys: { ...state.deploys, [name]: deploy.id } };
              this.persist(operation, state);
              return this.ctx.lifecycle.waitFor(deploy.id);
            })
            .then(
              (finished) => {
                if (ended.over || !finished) return;
                outcomes.set(name, finished);
                if (finished.outcome === 'succeeded') {
                  this.record(operation, 'wave.service-succeeded', `${name} is on ${state.version}`, {
                    service: name,
                    operationId: finished.id,
                  });
                } else {
                  ended.stop = { service: name, operation: finished };
                }
                if (--pending === 0 || ended.stop) {
                  ended.over = true;
                  resolveWave();
                }
              },
              (error: unknown) => {
                if (ended.over) return;
                const e = error instanceof CutoverError ? error : new CutoverError('INTERNAL', String(error));
                ended.stop = {
                  service: name,
                  operation: { ...operation, outcome: 'failed', error: { code: e.code, message: e.message } },
                };
                ended.over = true;
                resolveWave();
              },
            );
        }
      });
      if (this.closing) return;
      if (ended.stop) return this.stop(operation, state, ended.stop, done, outcomes);
      done.push(...wave);
      state = { ...state, index: state.index + 1 };
      this.persist(operation, state);
    }
    this.record(operation, 'wave.succeeded', `deploy of ${state.version} succeeded: ${done.join(', ')} updated`, {
      services: done,
    });
    this.ctx.lifecycle.completeOperation(operation.id, WAVE_SERVICE, 'succeeded', null, this.now());
  }

  /** Starts the service's deploy, or takes back the one started before a restart. */
  private async deployOne(
    operation: OperationRecord,
    state: WaveState,
    name: string,
    restartAborted: ReadonlySet<string>,
  ): Promise<OperationRecord> {
    const previous = state.deploys[name] ? this.ctx.store.getOperation(state.deploys[name]) : null;
    if (previous && !restartAborted.has(previous.id)) return previous;
    if (previous)
      this.record(
        operation,
        'wave.service-restarted',
        `the controller restart aborted the deploy of ${name}; deploying it again`,
        { service: name },
      );
    const service = this.ctx.service(name);
    const gated = service.strategy.type === 'blue-green' && service.strategy.approval;
    const deploy = await this.deploy(name, {
      version: state.version,
      // An approval gate is never skipped: autoSwitch applies to blue-green services without one.
      autoSwitch: gated ? undefined : (state.autoSwitch ?? undefined),
      autoCleanup: state.autoCleanup ?? undefined,
      skipHealth: state.skipHealth,
      actor: `${operation.actor} (deploy ${operation.id})`,
    });
    this.record(
      operation,
      'wave.service-started',
      `${name}: ${service.strategy.type} deploy ${deploy.id} started${gated ? '; its switch waits for `cutover approve ' + name + '`' : ''}`,
      { service: name, operationId: deploy.id },
    );
    return deploy;
  }

  private stop(
    operation: OperationRecord,
    state: WaveState,
    stop: { service: string; operation: OperationRecord },
    done: string[],
    outcomes: Map<string, OperationRecord>,
  ): void {
    const wave = state.waves[state.index]!;
    const updated = [...done, ...wave.filter((name) => outcomes.get(name)?.outcome === 'succeeded')];
    const running = wave.filter((name) => name !== stop.service && !outcomes.has(name));
    const notStarted = state.waves.slice(state.index + 1).flat();
    const outcome = stop.operation.outcome === 'aborted' ? 'aborted' : 'failed';
    const error = {
      code: stop.operation.error?.code ?? 'DEPLOY_ABORTED',
      message:
        `${stop.service}: ${stop.operation.error?.message ?? outcome}` +
        `; not started: ${notStarted.join(', ') || 'none'}` +
        `; already on ${state.version} (they stay): ${updated.join(', ') || 'none'}` +
        (running.length ? `; still running on their own: ${running.join(', ')}` : ''),
    };
    this.record(
      operation,
      `wave.${outcome}`,
      `deploy of ${state.version} stopped: ${error.message}`,
      { failed: stop.service, notStarted, updated, running },
      'error',
    );
    this.ctx.lifecycle.completeOperation(operation.id, WAVE_SERVICE, outcome, error, this.now());
  }

  private persist(operation: OperationRecord, state: WaveState): void {
    this.ctx.store.updateOperation(operation.id, { phase: phaseOf(state), state });
  }

  private record(
    operation: OperationRecord,
    type: string,
    message: string,
    data?: unknown,
    level: 'info' | 'warn' | 'error' = 'info',
  ): void {
    this.ctx.events.record({
      operationId: operation.id,
      service: WAVE_SERVICE,
      releaseId: null,
      type,
      message,
      level,
      ...(data === undefined ? {} : { data }),
    });
  }
}

function phaseOf(state: WaveState): string {
  return state.index >= state.waves.length ? 'done' : `wave ${state.index + 1}/${state.waves.length}`;
}

/** The wave state as persisted, or null for anything else. */
export function waveStateOf(value: unknown): WaveState | null {
  if (value === null || typeof value !== 'object') return null;
  const state = value as Partial<WaveState>;
  if (
    state.strategy !== 'deploy-wave' ||
    !Array.isArray(state.waves) ||
    typeof state.index !== 'number' ||
    typeof state.version !== 'string'
  )
    return null;
  return { ...state, deploys: state.deploys ?? {} } as WaveState;
}
