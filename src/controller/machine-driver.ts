import type { ClockTimer } from '../core/clock.js';
/**
 * Runs a pure strategy state machine against the world: applies an event,
 * persists the new state before anything else happens, executes the
 * commands one by one and feeds the events they produce back in. Events from
 * outside (promote, abort, timers, verdicts) are queued behind the ones in
 * progress, so a promote never overtakes a health result. Shared by the
 * blue-green, canary and rolling drivers.
 */
export interface Transition<S, C> {
  state: S;
  commands: C[];
}

export class MachineDriver<S, E, C> {
  private queue: Promise<void> = Promise.resolve();

  constructor(
    public state: S,
    private readonly transition: (state: S, event: E) => Transition<S, C>,
    private readonly execute: (command: C) => Promise<E | null>,
    private readonly persist: (state: S) => void,
    private readonly crashed: (error: unknown) => void,
  ) {}

  /** Runs the first commands of a machine just started (or resumed). */
  begin(commands: C[]): Promise<void> {
    return this.enqueue(() => this.runCommands(commands));
  }

  dispatch(event: E): Promise<void> {
    return this.enqueue(() => this.apply(event));
  }

  /** Resolves when everything queued so far has run. */
  settled(): Promise<void> {
    return this.queue;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(work).catch((error: unknown) => this.crashed(error));
    return this.queue;
  }

  private async apply(event: E): Promise<void> {
    const next = this.transition(this.state, event);
    if (next.state !== this.state) {
      this.state = next.state;
      this.persist(this.state);
    }
    await this.runCommands(next.commands);
  }

  private async runCommands(commands: C[]): Promise<void> {
    for (const command of commands) {
      const event = await this.execute(command);
      if (event) await this.apply(event);
    }
  }
}

export const SHUTTING_DOWN = 'the server is shutting down';

/** True when a run was aborted because the server is stopping (not by a person or a failure). */
export function stoppedForShutdown(signal: AbortSignal): boolean {
  return signal.aborted && (signal.reason as Error | undefined)?.message === SHUTTING_DOWN;
}

/**
 * Waits for the given work, but never longer than `ms`: a hung step must not hold up a shutdown.
 * Real time on purpose: a shutdown bound, not deploy logic; on a manual clock a hung step would hold close() for ever.
 */
export async function settleWithin(work: Promise<unknown>[], ms: number): Promise<void> {
  await Promise.race([Promise.all(work), new Promise((resolve) => setTimeout(resolve, ms).unref())]);
}

/** What the canary and rolling runners stop the same way when the server shuts down. */
export interface TimedRun {
  abort: AbortController;
  timers: Set<ClockTimer>;
  analysis: { stop(scope: 'all'): void };
  driver: { settled(): Promise<void> };
}

/**
 * Stops timers and analysis of every run and waits (a bounded time) for the
 * step in progress; the operation stays unfinished in the store, and the next
 * start resumes or aborts it (recovery.ts).
 */
export function shutDownRuns(runs: Iterable<TimedRun>, abortError: Error): Promise<void> {
  const settled = [...runs].map((run) => {
    run.abort.abort(abortError);
    for (const timer of run.timers) timer.cancel();
    run.analysis.stop('all');
    return run.driver.settled();
  });
  return settleWithin(settled, 3000);
}
