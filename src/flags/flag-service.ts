import { CutoverError } from '../core/errors.js';
import { evaluateFlag, type Evaluation, type FlagValueType } from './evaluate.js';
import type { EvaluationContext, Flag, JsonValue, Segments } from './flag-model.js';
import { parseFlag, parseSegments } from './flag-schema.js';
import { applyMergePatch } from './merge-patch.js';
import type { EvaluationCount, FlagAuditEntry, FlagStore, StoredFlag } from './flag-store.js';

/**
 * The flag server's rules, between the admin API and the store: every write
 * is validated whole, written with its audit entry and the environment's new
 * revision in one transaction, and then announced to the listeners (the SDK
 * streams, the progressive rollouts). Reads and evaluations go straight to
 * the store; flag sets are small.
 */

/** What the SDKs receive: GET /api/v1/sdk/flags and the stream's first event. */
export interface FlagSnapshot {
  environment: string;
  revision: number;
  flags: Flag[];
  segments: Segments;
}

export type FlagChange =
  | {
      type: 'flag';
      environment: string;
      revision: number;
      key: string;
      flag: Flag | null;
      actor: string;
      version: number;
    }
  | { type: 'segments'; environment: string; revision: number; segments: Segments };

export interface WriteOptions {
  actor: string;
  reason?: string | null;
  /** Refuse the write (FLAG_CONFLICT) unless the stored version is this one. */
  ifVersion?: number;
}

/** Series of evaluation counts kept in all (environment, flag, variant); far above what real flags need. */
export const MAX_EVALUATION_SERIES = 10_000;

export type EvaluationDropReason = 'unknown_flag' | 'unknown_variant' | 'series_limit';

export interface CountReport {
  flag: string;
  variant: string | null;
  count: number;
}

export class FlagService {
  private readonly listeners = new Set<(change: FlagChange) => void>();
  /** Dropped count reports by JSON [environment, reason]; the keys are few (environments × 3 reasons). */
  private readonly dropped = new Map<string, number>();

  constructor(
    private readonly store: FlagStore,
    /** From cutover.yaml `flags.environments`; the first is the default. */
    readonly environments: readonly string[],
    private readonly now: () => number = Date.now,
  ) {}

  /** The environment a request names, or the default; an unknown name is ENVIRONMENT_NOT_FOUND. */
  environment(name: string | undefined): string {
    if (name === undefined || name === '') return this.environments[0]!;
    if (!this.environments.includes(name)) {
      throw new CutoverError(
        'ENVIRONMENT_NOT_FOUND',
        `no flag environment "${name}"; the environments are ${this.environments.join(', ')}`,
      );
    }
    return name;
  }

  subscribe(listener: (change: FlagChange) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  list(environment: string): { environment: string; revision: number; flags: StoredFlag[] } {
    return { environment, revision: this.store.revision(environment), flags: this.store.list(environment) };
  }

  snapshot(environment: string): FlagSnapshot {
    return this.store.transaction(() => ({
      environment,
      revision: this.store.revision(environment),
      flags: this.store.list(environment).map((entry) => forSdk(entry.flag)),
      segments: this.store.segments(environment),
    }));
  }

  get(environment: string, key: string): StoredFlag {
    const stored = this.store.get(environment, key);
    if (!stored) throw new CutoverError('FLAG_NOT_FOUND', `no flag "${key}" in ${environment}`);
    return stored;
  }

  find(environment: string, key: string): StoredFlag | null {
    return this.store.get(environment, key);
  }

  evaluations(environment: string, key: string): EvaluationCount[] {
    return this.store.evaluations(environment, key);
  }

  allEvaluations(): { environment: string; key: string; variant: string | null; count: number }[] {
    return this.store.allEvaluations();
  }

  history(environment: string, key: string, limit: number): FlagAuditEntry[] {
    return this.store.history(environment, key, limit);
  }

  create(environment: string, input: unknown, options: WriteOptions): StoredFlag {
    const flag = this.parse(input);
    return this.write(
      environment,
      flag.key,
      (existing) => {
        if (existing)
          throw new CutoverError(
            'FLAG_EXISTS',
            `flag "${flag.key}" already exists in ${environment} (version ${existing.version})`,
          );
        return flag;
      },
      options,
    );
  }

  /** Replaces the whole flag; `key` in the body may be left out, and must match the URL when present. */
  replace(environment: string, key: string, input: unknown, options: WriteOptions): StoredFlag {
    const body = isMap(input) && input.key === undefined ? { ...input, key } : input;
    const flag = this.parse(body);
    if (flag.key !== key)
      throw new CutoverError('BAD_REQUEST', `flag.key: expected "${key}" (the key in the URL), got "${flag.key}"`);
    return this.write(
      environment,
      key,
      (existing) => {
        if (!existing)
          throw new CutoverError('FLAG_NOT_FOUND', `no flag "${key}" in ${environment}`, {
            hint: 'Create it with POST /api/v1/flags (`cutover flags set`).',
          });
        return flag;
      },
      options,
    );
  }

  /** Applies a JSON merge patch (RFC 7396) to the stored flag and validates the result whole. */
  patch(environment: string, key: string, patch: unknown, options: WriteOptions): StoredFlag {
    if (!isMap(patch)) throw new CutoverError('BAD_REQUEST', 'patch: expected a JSON object (a merge patch, RFC 7396)');
    if (patch.key !== undefined && patch.key !== key)
      throw new CutoverError('BAD_REQUEST', "patch.key: a flag's key cannot be changed; create a new flag instead");
    return this.write(
      environment,
      key,
      (existing) => {
        if (!existing) throw new CutoverError('FLAG_NOT_FOUND', `no flag "${key}" in ${environment}`);
        return this.parse(applyMergePatch(existing.flag as unknown as JsonValue, patch as JsonValue));
      },
      options,
    );
  }

  /**
   * What create (existing false), replace or patch would write, refused as
   * they would refuse it, without writing: a change proposed for approval
   * is checked when it is proposed, not only when it is approved.
   */
  preview(
    environment: string,
    key: string,
    change: { type: 'create'; flag: unknown } | { type: 'replace'; flag: unknown } | { type: 'patch'; patch: unknown },
  ): Flag {
    const existing = this.store.get(environment, key);
    let flag: Flag;
    if (change.type === 'create') {
      flag = this.parse(change.flag);
      if (existing) throw new CutoverError('FLAG_EXISTS', `flag "${flag.key}" already exists in ${environment}`);
    } else {
      if (!existing) throw new CutoverError('FLAG_NOT_FOUND', `no flag "${key}" in ${environment}`);
      if (change.type === 'replace') {
        flag = this.parse(isMap(change.flag) && change.flag.key === undefined ? { ...change.flag, key } : change.flag);
      } else {
        if (!isMap(change.patch))
          throw new CutoverError('BAD_REQUEST', 'patch: expected a JSON object (a merge patch, RFC 7396)');
        flag = this.parse(applyMergePatch(existing.flag as unknown as JsonValue, change.patch as JsonValue));
      }
      if (flag.key !== key)
        throw new CutoverError('BAD_REQUEST', `flag.key: expected "${key}" (the key in the URL), got "${flag.key}"`);
    }
    const missing = missingSegments(flag, this.store.segments(environment));
    if (missing.length > 0)
      throw new CutoverError(
        'BAD_REQUEST',
        `the flag uses segments that do not exist in ${environment}: ${missing.join(', ')}`,
      );
    return flag;
  }

  /** Writes a flag built from the stored one (or null), in one transaction with its audit entry. */
  upsert(environment: string, key: string, build: (existing: Flag | null) => Flag, options: WriteOptions): StoredFlag {
    // Validated whole like every other write: a built flag (the seeds' body, say) must not store what the SDKs cannot read.
    return this.write(environment, key, (existing) => this.parse(build(existing?.flag ?? null)), options);
  }

  remove(environment: string, key: string, options: WriteOptions): { deleted: string; version: number } {
    const { change, version } = this.store.transaction(() => {
      const existing = this.get(environment, key);
      checkVersion(existing, options.ifVersion);
      this.store.delete(environment, key);
      const at = this.now();
      this.store.appendAudit({
        environment,
        key,
        action: 'delete',
        actor: options.actor,
        at,
        reason: options.reason ?? null,
        before: existing.flag,
        after: null,
        version: existing.version,
      });
      const revision = this.store.bumpRevision(environment);
      const flagChange: FlagChange = {
        type: 'flag',
        environment,
        revision,
        key,
        flag: null,
        actor: options.actor,
        version: existing.version,
      };
      return { change: flagChange, version: existing.version };
    });
    this.announce(change);
    return { deleted: key, version };
  }

  evaluate(
    environment: string,
    key: string,
    context: EvaluationContext,
    expectedType?: FlagValueType,
  ): Evaluation & { key: string } {
    const flag = this.get(environment, key).flag;
    return { key, ...evaluateFlag(flag, context, this.store.segments(environment), { expectedType }) };
  }

  evaluateAll(environment: string, context: EvaluationContext): Record<string, Evaluation> {
    const segments = this.store.segments(environment);
    const results: Record<string, Evaluation> = {};
    for (const { flag } of this.store.list(environment)) results[flag.key] = evaluateFlag(flag, context, segments);
    return results;
  }

  segments(environment: string): Segments {
    return this.store.segments(environment);
  }

  putSegment(environment: string, name: string, constraints: unknown): Segments {
    const parsed = parseSegments({ [name]: constraints });
    return this.changeSegments(environment, () => {
      this.store.putSegment(environment, name, parsed[name]!);
    });
  }

  deleteSegment(environment: string, name: string): Segments {
    const users = this.store
      .list(environment)
      .filter(({ flag }) => usesSegment(flag, name))
      .map(({ flag }) => flag.key);
    if (users.length > 0) {
      throw new CutoverError('INVALID_STATE', `segment "${name}" is used by ${users.join(', ')}`, {
        hint: 'Remove the in_segment constraints that name it first.',
      });
    }
    return this.changeSegments(environment, () => {
      if (!this.store.deleteSegment(environment, name))
        throw new CutoverError('SEGMENT_NOT_FOUND', `no segment "${name}" in ${environment}`);
    });
  }

  /**
   * Adds the counts an SDK reported. The SDK token is in every application, so
   * what it sends decides nothing about which series exist: counts for a flag
   * or variant the environment does not have are dropped (and counted, for
   * /metrics), and the number of series is capped, so the database and
   * /metrics stay the size of the flags themselves.
   */
  recordEvaluations(environment: string, counts: readonly CountReport[]): { accepted: number; dropped: number } {
    return this.store.transaction(() => {
      const variantsOf = new Map(this.store.list(environment).map(({ flag }) => [flag.key, flag.variants]));
      const known: CountReport[] = [];
      for (const entry of counts) {
        if (entry.count <= 0) continue;
        const variants = variantsOf.get(entry.flag);
        const reason =
          variants === undefined
            ? 'unknown_flag'
            : entry.variant !== null && !Object.hasOwn(variants, entry.variant)
              ? 'unknown_variant'
              : null;
        if (reason === null) known.push(entry);
        else this.countDropped(environment, reason, 1);
      }
      const refused = this.store.addEvaluations(environment, known, this.now(), MAX_EVALUATION_SERIES);
      this.countDropped(environment, 'series_limit', refused);
      return { accepted: known.length - refused, dropped: counts.length - (known.length - refused) };
    });
  }

  /** Count reports dropped since the server started, per environment and reason (cutover_flag_evaluations_dropped_total). */
  droppedEvaluations(): { environment: string; reason: EvaluationDropReason; count: number }[] {
    return [...this.dropped.entries()].map(([label, count]) => {
      const [environment, reason] = JSON.parse(label) as [string, EvaluationDropReason];
      return { environment, reason, count };
    });
  }

  private countDropped(environment: string, reason: EvaluationDropReason, count: number): void {
    if (count === 0) return;
    const label = JSON.stringify([environment, reason]);
    this.dropped.set(label, (this.dropped.get(label) ?? 0) + count);
  }

  private changeSegments(environment: string, change: () => void): Segments {
    const announced = this.store.transaction(() => {
      change();
      const revision = this.store.bumpRevision(environment);
      const segments = this.store.segments(environment);
      const segmentChange: FlagChange = { type: 'segments', environment, revision, segments };
      return segmentChange;
    });
    this.announce(announced);
    return announced.segments;
  }

  private write(
    environment: string,
    key: string,
    build: (existing: StoredFlag | null) => Flag,
    options: WriteOptions,
  ): StoredFlag {
    const { stored, change } = this.store.transaction(() => {
      const existing = this.store.get(environment, key);
      if (existing) checkVersion(existing, options.ifVersion);
      else if (options.ifVersion !== undefined && options.ifVersion !== 0) {
        throw new CutoverError(
          'FLAG_CONFLICT',
          `flag "${key}" does not exist in ${environment} (expected version ${options.ifVersion})`,
        );
      }
      const flag = build(existing);
      const missing = missingSegments(flag, this.store.segments(environment));
      if (missing.length > 0) {
        throw new CutoverError(
          'BAD_REQUEST',
          `the flag uses segments that do not exist in ${environment}: ${missing.join(', ')}`,
          { hint: 'Create them with PUT /api/v1/segments/<name> first.' },
        );
      }
      const version = (existing?.version ?? 0) + 1;
      const at = this.now();
      this.store.put(environment, flag, version, options.actor, at);
      this.store.pruneEvaluations(environment, key, Object.keys(flag.variants));
      this.store.appendAudit({
        environment,
        key,
        action: existing ? 'update' : 'create',
        actor: options.actor,
        at,
        reason: options.reason ?? null,
        before: existing?.flag ?? null,
        after: flag,
        version,
      });
      const revision = this.store.bumpRevision(environment);
      const flagChange: FlagChange = { type: 'flag', environment, revision, key, flag, actor: options.actor, version };
      return { stored: { environment, flag, version, updatedAt: at, updatedBy: options.actor }, change: flagChange };
    });
    this.announce(change);
    return stored;
  }

  private parse(input: unknown): Flag {
    try {
      return parseFlag(input);
    } catch (error) {
      // The API's answer to a bad flag is a 400 listing every field (CONFIG_INVALID is the config file's code).
      if (error instanceof CutoverError)
        throw new CutoverError('BAD_REQUEST', error.message, { hint: error.hint, details: error.details });
      throw error;
    }
  }

  private announce(change: FlagChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure (a closed stream) must not undo or fail a committed write.
      }
    }
  }
}

/**
 * A flag as the SDKs receive it: without `clientVisible`, which only the OFREP
 * routes read. An SDK older than the field parses flags strictly and would
 * take a client-visible flag for an invalid one (PARSE_ERROR, the default).
 */
export function forSdk(flag: Flag): Flag {
  if (flag.clientVisible === undefined) return flag;
  const { clientVisible: _clientVisible, ...rest } = flag;
  return rest;
}

function checkVersion(existing: StoredFlag, ifVersion: number | undefined): void {
  if (ifVersion !== undefined && ifVersion !== existing.version) {
    throw new CutoverError(
      'FLAG_CONFLICT',
      `flag "${existing.flag.key}" is at version ${existing.version}, not ${ifVersion} (changed by ${existing.updatedBy})`,
    );
  }
}

function isMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function usesSegment(flag: Flag, name: string): boolean {
  return flag.rules.some((rule) => rule.constraints.some((c) => c.operator === 'in_segment' && c.segment === name));
}

function missingSegments(flag: Flag, segments: Segments): string[] {
  const names = flag.rules.flatMap((rule) =>
    rule.constraints.flatMap((c) => (c.operator === 'in_segment' ? [c.segment] : [])),
  );
  return [...new Set(names)].filter((name) => !Object.hasOwn(segments, name));
}
