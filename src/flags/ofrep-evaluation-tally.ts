import type { CountReport } from './flag-service.js';

/**
 * The evaluations OFREP answered, counted in memory and handed to the same
 * sink as the SDKs' reports (FlagService.recordEvaluations: the counts of
 * `cutover flags get`, the dashboard and /metrics) every `flushMs`, so a busy
 * OFREP endpoint costs one write per interval, not one per request. An SDK
 * batches its reports the same way (sdk/flags/evaluation-counter.ts).
 */
export class OfrepEvaluationTally {
  /** environment → `${flag}\n${variant}` → count; a flag key cannot hold a newline. */
  private readonly pending = new Map<string, Map<string, number>>();
  private readonly timer: NodeJS.Timeout | null;

  constructor(
    private readonly record: (environment: string, counts: readonly CountReport[]) => unknown,
    flushMs: number,
  ) {
    this.timer = flushMs > 0 ? setInterval(() => this.flush(), flushMs) : null;
    this.timer?.unref();
  }

  /** `variant` null counts an error, as the SDK reports them. */
  add(environment: string, flag: string, variant: string | null): void {
    let counts = this.pending.get(environment);
    if (counts === undefined) {
      counts = new Map();
      this.pending.set(environment, counts);
    }
    const label = `${flag}\n${variant ?? ''}`;
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }

  flush(): void {
    for (const [environment, counts] of this.pending) {
      const reports: CountReport[] = [...counts].map(([label, count]) => {
        const [flag, variant] = label.split('\n') as [string, string];
        return { flag, variant: variant === '' ? null : variant, count };
      });
      this.record(environment, reports);
    }
    this.pending.clear();
  }

  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.flush();
  }
}
