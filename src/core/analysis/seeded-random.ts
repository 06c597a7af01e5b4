/**
 * mulberry32, a small seeded pseudo-random generator (Tommy Ettinger, public
 * domain): 32 bits of state, passes gjrand and PractRand up to its period of
 * 2^32, which is plenty for sampling latencies and for repeatable tests. It
 * is not cryptographic. Returns floats in [0, 1), like Math.random.
 */
export type RandomSource = () => number;

export function mulberry32(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
