import type { InstanceExit, RuntimeListener } from './index.js';

/**
 * The `onExit` listeners of a runtime. A listener that throws is logged and
 * the others are still told: one failing subscriber must not hide a crash
 * from the supervisor.
 */
export class ExitListeners {
  private readonly listeners: RuntimeListener[] = [];

  constructor(private readonly logger: { error(fields: object, message?: string): void } | undefined) {}

  add(listener: RuntimeListener): void {
    this.listeners.push(listener);
  }

  notify(exit: InstanceExit): void {
    for (const listener of this.listeners) {
      try {
        listener(exit);
      } catch (error) {
        this.logger?.error({ instance: exit.instance.id, err: error }, 'instance exit listener failed');
      }
    }
  }
}
