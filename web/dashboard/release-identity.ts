/**
 * How a release is shown: one label and one color, the same in the release
 * boxes, the traffic bar, the observed split and every chart and legend of a
 * service card. Both come from the release itself (its id and version), not
 * from its role or from the order the page happened to see it in, so a
 * release keeps its color when it goes from canary to active and after a
 * reload. Pure: no DOM, unit-tested from Node.
 */

/**
 * Colors that carry white text (the traffic bar's labels) and stay apart
 * from one another in light and dark mode. Health keeps its own colors
 * (green/red on the instances); none of these is the error red.
 */
export const RELEASE_PALETTE = [
  '#2563eb', // blue
  '#c2410c', // burnt orange
  '#7c3aed', // violet
  '#0f766e', // teal
  '#be185d', // magenta
  '#4d7c0f', // olive
  '#0369a1', // ocean
  '#a16207', // ochre
] as const;

/** The release's sequence number: ids are `<service>-<seq>` (store/sqlite-store.ts); another id is hashed. */
export function releaseSeq(releaseId: string): number {
  const match = /-(\d+)$/.exec(releaseId);
  if (match) return Number(match[1]);
  let hash = 0;
  for (let i = 0; i < releaseId.length; i++) hash = (Math.imul(hash, 31) + releaseId.charCodeAt(i)) >>> 0;
  return hash;
}

/**
 * A color for each release shown together: the palette entry of its sequence
 * number, so consecutive releases (the usual stable and canary) differ. When
 * two releases shown together land on one entry (sequence numbers a palette
 * apart), the older keeps it and the newer takes the next free one: still a
 * function of the releases alone, so every reload draws the same colors.
 */
export function releaseColors(releaseIds: Iterable<string>): Map<string, string> {
  const ids = [...new Set(releaseIds)].sort((a, b) => releaseSeq(a) - releaseSeq(b) || a.localeCompare(b));
  const taken = new Set<number>();
  const colors = new Map<string, string>();
  for (const id of ids) {
    let index = releaseSeq(id) % RELEASE_PALETTE.length;
    // More releases than colors: they share, in the same order on every load.
    for (let tries = 0; taken.has(index) && tries < RELEASE_PALETTE.length; tries++)
      index = (index + 1) % RELEASE_PALETTE.length;
    taken.add(index);
    colors.set(id, RELEASE_PALETTE[index]!);
  }
  return colors;
}

export interface ShownRelease {
  releaseId: string;
  version: string;
}

/**
 * One label form for every place: the version ("v8"). Only when two shown
 * releases have the same version (a redeploy of v1) does each get its
 * sequence number too ("v1 #3"), so the legend never shows two equal names.
 */
export function releaseLabels(releases: readonly ShownRelease[]): Map<string, string> {
  const count = new Map<string, number>();
  for (const r of releases) count.set(r.version, (count.get(r.version) ?? 0) + 1);
  return new Map(
    releases.map((r) => [
      r.releaseId,
      (count.get(r.version) ?? 0) > 1 ? `${r.version} #${releaseSeq(r.releaseId)}` : r.version,
    ]),
  );
}

/** What a card knows of the releases it shows: in the order of its boxes, with their label and color. */
export interface ReleaseLegend {
  order: string[];
  label: Map<string, string>;
  color: Map<string, string>;
}

/** The releases a card shows (active, canary, standby: the ones that run), labelled and colored. */
export function releaseLegend(releases: readonly (ShownRelease | null)[]): ReleaseLegend {
  const shown = releases.filter((r): r is ShownRelease => r !== null);
  const unique = shown.filter((r, i) => shown.findIndex((s) => s.releaseId === r.releaseId) === i);
  return {
    order: unique.map((r) => r.releaseId),
    label: releaseLabels(unique),
    color: releaseColors(unique.map((r) => r.releaseId)),
  };
}

/**
 * The releases a chart draws a line for: those seen in its points that still
 * run (are in the legend), in the legend's order. A release that stopped
 * (an aborted canary, a retired standby) leaves the chart and its legend.
 */
export function chartedReleases(seen: Iterable<string>, legend: ReleaseLegend): string[] {
  const inData = new Set(seen);
  return legend.order.filter((id) => inData.has(id));
}
