import type { Constraint, Segments } from '../../flags/flag-model.js';
import { formatFlagIssues, safeParseSegments } from '../../flags/flag-schema.js';
import { buildEntry, rawFlagKey, segmentsUsed, withSegments, type FlagEntry } from './flag-entry.js';
import type { VariantTally } from './variant-tally.js';

/**
 * The flags of one environment at one revision, parsed, in memory. A set is
 * never changed in place: a stream event makes a new set (sharing the
 * entries it did not touch), so an evaluation always sees one consistent
 * revision. A flag that fails to parse is kept as an entry that answers
 * PARSE_ERROR, so one flag from a newer server never takes the others down.
 */

/** The set as the server sends it (GET /api/v1/sdk/flags, the stream's `snapshot`), and as the disk cache keeps it. */
export interface FlagSnapshot {
  environment: string;
  revision: number;
  flags: unknown[];
  segments: unknown;
}

/** Gives each flag key its evaluation counts; the same tally survives changes of the flag. */
export type TallyFor = (key: string) => VariantTally;

/** The snapshot in a payload, or null when the payload is not one (the set is then left as it was). */
export function readSnapshot(payload: unknown): FlagSnapshot | null {
  if (payload === null || typeof payload !== 'object') return null;
  const { environment, revision, flags, segments } = payload as Record<string, unknown>;
  if (typeof environment !== 'string' || !Number.isSafeInteger(revision) || !Array.isArray(flags)) return null;
  return { environment, revision: revision as number, flags, segments: segments ?? {} };
}

export class FlagSet {
  readonly environment: string;
  readonly revision: number;
  readonly segments: Segments;
  /** Segments the SDK cannot read, with why: the flags that use them answer PARSE_ERROR. */
  readonly brokenSegments: ReadonlyMap<string, string>;
  private readonly rawSegments: unknown;
  private readonly entries: ReadonlyMap<string, FlagEntry>;

  private constructor(
    environment: string,
    revision: number,
    rawSegments: unknown,
    segments: SegmentsRead,
    entries: ReadonlyMap<string, FlagEntry>,
  ) {
    this.environment = environment;
    this.revision = revision;
    this.rawSegments = rawSegments;
    this.segments = segments.segments;
    this.brokenSegments = segments.broken;
    this.entries = entries;
  }

  static empty(environment = ''): FlagSet {
    return new FlagSet(environment, 0, {}, { segments: {}, broken: new Map() }, new Map());
  }

  static fromSnapshot(snapshot: FlagSnapshot, tallyFor: TallyFor): FlagSet {
    const segments = readSegments(snapshot.segments);
    const entries = new Map<string, FlagEntry>();
    for (const raw of snapshot.flags) {
      const key = rawFlagKey(raw);
      if (key !== null) entries.set(key, buildEntry(key, raw, segments.segments, segments.broken, tallyFor(key)));
    }
    return new FlagSet(snapshot.environment, snapshot.revision, snapshot.segments, segments, entries);
  }

  get(key: string): FlagEntry | undefined {
    return this.entries.get(key);
  }

  keys(): string[] {
    return [...this.entries.keys()];
  }

  get size(): number {
    return this.entries.size;
  }

  /** The set after a `flag` event: the flag replaced, added, or (raw null) deleted. */
  withFlag(revision: number, key: string, raw: unknown, tallyFor: TallyFor): FlagSet {
    const entries = new Map(this.entries);
    if (raw === null || raw === undefined) entries.delete(key);
    else entries.set(key, buildEntry(key, raw, this.segments, this.brokenSegments, tallyFor(key)));
    return new FlagSet(
      this.environment,
      revision,
      this.rawSegments,
      { segments: this.segments, broken: this.brokenSegments },
      entries,
    );
  }

  /** The set after a `segments` event: every flag checked again against the new segments. */
  withSegments(revision: number, rawSegments: unknown): FlagSet {
    const segments = readSegments(rawSegments);
    const entries = new Map<string, FlagEntry>();
    for (const [key, entry] of this.entries) entries.set(key, withSegments(entry, segments.segments, segments.broken));
    return new FlagSet(this.environment, revision, rawSegments, segments, entries);
  }

  /**
   * The flags whose answers may differ between this set and `next`: added,
   * deleted or changed flags, and flags using a segment that changed.
   */
  changedKeys(next: FlagSet): string[] {
    const changed = new Set<string>();
    for (const [key, entry] of next.entries) if (this.entries.get(key)?.rawText !== entry.rawText) changed.add(key);
    for (const key of this.entries.keys()) if (!next.entries.has(key)) changed.add(key);
    const segmentChanges = changedSegments(this, next);
    if (segmentChanges.size > 0) {
      for (const [key, entry] of next.entries)
        if (segmentsUsed(entry).some((name) => segmentChanges.has(name))) changed.add(key);
    }
    return [...changed].sort();
  }

  toSnapshot(): FlagSnapshot {
    return {
      environment: this.environment,
      revision: this.revision,
      flags: [...this.entries.values()].map((entry) => entry.raw),
      segments: this.rawSegments,
    };
  }
}

interface SegmentsRead {
  segments: Segments;
  broken: ReadonlyMap<string, string>;
}

/** Segments one by one, so a segment this SDK cannot read breaks only the flags that use it. */
function readSegments(raw: unknown): SegmentsRead {
  const whole = safeParseSegments(raw ?? {});
  if (whole.ok) return { segments: whole.value, broken: new Map() };
  const segments: Record<string, readonly Constraint[]> = {};
  const broken = new Map<string, string>();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { segments, broken };
  for (const [name, constraints] of Object.entries(raw)) {
    const one = safeParseSegments({ [name]: constraints });
    if (one.ok) segments[name] = one.value[name]!;
    else broken.set(name, formatFlagIssues(one.issues));
  }
  return { segments, broken };
}

function changedSegments(before: FlagSet, after: FlagSet): Set<string> {
  const changed = new Set<string>();
  const names = new Set([
    ...Object.keys(before.segments),
    ...Object.keys(after.segments),
    ...before.brokenSegments.keys(),
    ...after.brokenSegments.keys(),
  ]);
  for (const name of names) {
    if (segmentText(before, name) !== segmentText(after, name)) changed.add(name);
  }
  return changed;
}

function segmentText(set: FlagSet, name: string): string {
  const constraints = Object.hasOwn(set.segments, name) ? set.segments[name] : undefined;
  return JSON.stringify(constraints ?? set.brokenSegments.get(name) ?? null);
}
