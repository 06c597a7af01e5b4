/**
 * The order of a multi-service deploy (`cutover deploy --all`), as in the
 * seeds' `upgrade rolling`: every non-critical service first (one wave, side
 * by side), then each critical service alone, each wave waiting for the one
 * before to be healthy. Within a wave, names keep their config order.
 */
export function deployWaves(services: readonly { name: string; critical: boolean }[]): string[][] {
  const waves: string[][] = [];
  const relaxed = services.filter((s) => !s.critical).map((s) => s.name);
  if (relaxed.length > 0) waves.push(relaxed);
  for (const service of services) if (service.critical) waves.push([service.name]);
  return waves;
}
