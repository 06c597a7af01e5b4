/**
 * "Did you mean" for unknown keys and names. Its own file, free of the YAML
 * parser, so the CLI can suggest a flag rule's field without loading it.
 */
/** The closest known key, for "did you mean": same letters ignoring case and `_`/`-`, or within a small edit distance. */
export function closestKey(unknown: string, known: readonly string[]): string | null {
  const squash = (key: string) => key.toLowerCase().replace(/[_-]/g, '');
  const exact = known.find((key) => squash(key) === squash(unknown));
  if (exact) return exact;
  const budget = Math.max(1, Math.floor(unknown.length / 3));
  let best: string | null = null;
  let bestDistance = budget + 1;
  for (const key of known) {
    const distance = editDistance(unknown.toLowerCase(), key.toLowerCase());
    if (distance < bestDistance) {
      best = key;
      bestDistance = distance;
    }
  }
  return best;
}

/** Levenshtein distance with adjacent transpositions counted as one edit. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) (rows[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = rows[i] as number[];
    const above = rows[i - 1] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((above[j] as number) + 1, (row[j - 1] as number) + 1, (above[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (rows[a.length] as number[])[b.length] as number;
}
