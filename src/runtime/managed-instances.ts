import { ExitListeners } from './exit-listeners.js';
import type { InstanceInfo, RuntimeListener } from './index.js';

/** What every adapter keeps of an instance it manages, whatever else it keeps. */
export interface ManagedInstanceBase {
  info: InstanceInfo;
  /** The one termination of this instance, shared by every stop() until it ends. */
  stopping: Promise<void> | null;
}

/**
 * The bookkeeping every Runtime adapter shares, done once here as undici's
 * dispatcher-base does it for its dispatchers: the instances managed, the
 * exit listeners and the closed flag; `list`, `onExit`, `stop` (one
 * termination per instance, however many ask), `close` (stops them all) and
 * `detach` (forgets them all, leaving them running for the next controller).
 * An adapter implements how one instance ends and how it is let go.
 */
export abstract class ManagedInstances<M extends ManagedInstanceBase> {
  protected readonly instances = new Map<string, M>();
  protected readonly exits: ExitListeners;
  /** Set by close() and detach(): a start that finishes after it must not leave an instance behind. */
  protected closed = false;

  constructor(logger: { error(fields: object, message?: string): void } | undefined) {
    this.exits = new ExitListeners(logger);
  }

  list(): InstanceInfo[] {
    return [...this.instances.values()].map((managed) => ({ ...managed.info }));
  }

  onExit(listener: RuntimeListener): void {
    this.exits.add(listener);
  }

  stop(instanceId: string, gracePeriodMs?: number): Promise<void> {
    const managed = this.instances.get(instanceId);
    if (!managed) return this.stopUnmanaged(instanceId, gracePeriodMs);
    managed.stopping ??= this.terminate(managed, gracePeriodMs ?? this.gracePeriodOf(managed));
    return managed.stopping;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.instances.keys()].map((id) => this.stop(id)));
  }

  async detach(): Promise<void> {
    this.closed = true;
    for (const managed of this.instances.values()) this.letGo(managed);
    this.instances.clear();
  }

  /** Ends one instance: SIGTERM (or its equivalent), then SIGKILL after the grace period. */
  protected abstract terminate(managed: M, gracePeriodMs: number): Promise<void>;

  /** The grace period of a stop that names none. */
  protected abstract gracePeriodOf(managed: M): number;

  /** detach(): stops watching one instance and following its output; the instance runs on. */
  protected abstract letGo(managed: M): void;

  /** A stop of an instance not managed (unknown, or crashed and not restarted): nothing to do by default. */
  protected stopUnmanaged(_instanceId: string, _gracePeriodMs: number | undefined): Promise<void> {
    return Promise.resolve();
  }
}
