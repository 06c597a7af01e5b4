import type { RandomSource } from '../../../src/core/analysis/seeded-random.js';

/**
 * Log-normal latencies (the usual shape of request latencies: a body around
 * the median and a long right tail) from a seeded source, by Box-Muller.
 * `medianMs` is exp(mu); `sigma` the spread of ln(latency).
 */
export function logNormalLatencies(random: RandomSource, count: number, medianMs: number, sigma = 0.5): number[] {
  const values: number[] = [];
  while (values.length < count) {
    // 1 - u keeps the argument of log in (0, 1].
    const radius = Math.sqrt(-2 * Math.log(1 - random()));
    const angle = 2 * Math.PI * random();
    values.push(medianMs * Math.exp(sigma * radius * Math.cos(angle)));
    if (values.length < count) values.push(medianMs * Math.exp(sigma * radius * Math.sin(angle)));
  }
  return values;
}
