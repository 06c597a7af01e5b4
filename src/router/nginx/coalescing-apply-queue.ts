/**
 * Runs one apply at a time and folds the requests that arrive meanwhile into
 * the next one: ten health changes during a reload cost one more reload, not
 * ten. Each request's promise settles with the outcome of the first apply
 * that starts after it was made, the one that carries its change (applies
 * read the desired state when they start).
 */
export class CoalescingApplyQueue {
  private readonly apply: () => Promise<void>;
  private waiting: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  private running: Promise<void> | null = null;

  constructor(apply: () => Promise<void>) {
    this.apply = apply;
  }

  request(): Promise<void> {
    const settled = new Promise<void>((resolve, reject) => this.waiting.push({ resolve, reject }));
    this.running ??= this.drain();
    return settled;
  }

  /** Resolves once nothing is running or waiting (never rejects). */
  async idle(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async drain(): Promise<void> {
    // Yield first so the calls made in the same tick join this apply.
    await Promise.resolve();
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        await this.apply();
        for (const waiter of batch) waiter.resolve();
      } catch (error) {
        for (const waiter of batch) waiter.reject(error);
      }
    }
    this.running = null;
  }
}
