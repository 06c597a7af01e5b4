import { CONFIG_DEFAULTS } from './config-defaults.js';
import { makeIssue, type ConfigIssue, type ConfigPath, type SourceMap } from './config-issues.js';
import { formatDuration, parseDuration } from './duration.js';

/**
 * A window that analysis judges (a rolling batch's `monitor`, a canary step's
 * `pause`, `pre_promotion` / `post_promotion` windows) must last at least until
 * the analysis first looks at what happened in it: its `initial_delay`, or,
 * without one, its `interval` (the measurement at the window's start sees no
 * traffic yet). A shorter window closes before any measurement of it, so the
 * analysis could only say "no data" (issue 20, item 4: `monitor: 5s` with an
 * `interval: 10s` reported "nothing vouches for the release" on every batch).
 * Refused at load, with the field named.
 */

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The slowest metric of a template: how long after a window opens it first measures what the window saw. */
export interface FirstLook {
  metric: string;
  ms: number;
  /** What sets it: the metric's initial_delay, or its interval (written or the default). */
  by: 'initial_delay' | 'interval';
}

/** The first look of each template that has metrics, by name. Raw values are read defensively. */
export function firstLooks(analysis: unknown): Map<string, FirstLook> {
  const looks = new Map<string, FirstLook>();
  if (!isMap(analysis)) return looks;
  for (const [name, template] of Object.entries(analysis)) {
    const metrics = isMap(template) && Array.isArray(template.metrics) ? (template.metrics as unknown[]) : [];
    for (const metric of metrics) {
      if (!isMap(metric)) continue;
      const look = firstLookOf(metric);
      if (look === null) continue;
      const slowest = looks.get(name);
      if (slowest === undefined || look.ms > slowest.ms) looks.set(name, look);
    }
  }
  return looks;
}

function firstLookOf(metric: RawMap): FirstLook | null {
  const name = typeof metric.name === 'string' ? metric.name : '?';
  const delay = metric.initial_delay === undefined ? null : parseDuration(metric.initial_delay, { allowZero: true });
  if (delay !== null && !delay.ok) return null;
  if (delay !== null && delay.ms > 0) return { metric: name, ms: delay.ms, by: 'initial_delay' };
  const interval =
    metric.interval === undefined
      ? { ok: true as const, ms: CONFIG_DEFAULTS.analysis.intervalMs }
      : parseDuration(metric.interval);
  return interval.ok ? { metric: name, ms: interval.ms, by: 'interval' } : null;
}

export interface JudgedWindow {
  /** The window's raw value, or undefined when not written (then `defaultMs` applies). */
  raw: unknown;
  defaultMs: number;
  /** Where the issue is reported: the window's own key, or the map that would hold it. */
  path: ConfigPath;
  /** How the window is named in the message: "monitor", "pause", "post_promotion.window". */
  name: string;
  /** The templates judged in it (raw: a name, a list of names, or anything the schema refuses). */
  analysis: unknown;
}

/** One issue when the window closes before the slowest of its templates first looks; none otherwise. */
export function checkWindowCoversAnalysis(
  window: JudgedWindow,
  looks: Map<string, FirstLook>,
  source: SourceMap | null,
): ConfigIssue[] {
  const parsed =
    window.raw === undefined
      ? { ok: true as const, ms: window.defaultMs }
      : parseDuration(window.raw, { allowZero: true });
  // Zero windows have their own message (rolling-checks.ts, canary-checks.ts); null pauses wait for a person.
  if (!parsed.ok || parsed.ms <= 0) return [];
  const names =
    typeof window.analysis === 'string' ? [window.analysis] : Array.isArray(window.analysis) ? window.analysis : [];
  let slowest: (FirstLook & { template: string }) | null = null;
  for (const name of names) {
    const look = typeof name === 'string' ? looks.get(name.trim()) : undefined;
    if (look !== undefined && (slowest === null || look.ms > slowest.ms)) slowest = { ...look, template: name.trim() };
  }
  if (slowest === null || parsed.ms >= slowest.ms) return [];
  const written = window.raw === undefined ? ` (the default ${formatDuration(window.defaultMs)})` : '';
  const wanted = formatDuration(slowest.ms);
  return [
    makeIssue(
      source,
      window.path,
      `${window.name} ${formatDuration(parsed.ms)}${written} is shorter than the analysis it waits for: ` +
        `"${slowest.template}" first measures the window after ${wanted} (${slowest.metric}'s ${slowest.by}), ` +
        `so the window would close before any measurement of it; set ${window.name} to at least ${wanted}, ` +
        `or a shorter ${slowest.by} on the metric`,
    ),
  ];
}
