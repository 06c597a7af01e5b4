import { moreThanTheService } from './instance-count.js';
import { checkTemplateReferences } from './analysis-checks.js';
import { checkWindowCoversAnalysis } from './analysis-window-checks.js';
import type { TemplateFacts } from './canary-checks.js';
import { CONFIG_DEFAULTS } from './config-defaults.js';
import { makeIssue, type ConfigIssue, type ConfigPath, type SourceMap } from './config-issues.js';
import { formatDuration, parseDuration } from './duration.js';

/**
 * Checks of a `strategy: rolling` map that span fields: the batch size set
 * one way only (parallelism, or the max_surge / max_unavailable that fits the
 * order), a batch no larger than the service, template names that exist, and
 * a monitor window for the analysis to measure in. Raw values are read
 * defensively (the schema reports bad types).
 */

type RawMap = Record<string, unknown>;

type Order = 'start-first' | 'stop-first';

/** The key that sizes the batch for each order, besides parallelism, and what the order means. */
const BATCH_KEY: Record<Order, { key: string; other: Order; meaning: string }> = {
  'start-first': { key: 'max_surge', other: 'stop-first', meaning: 'new instances start before old ones stop' },
  'stop-first': { key: 'max_unavailable', other: 'start-first', meaning: 'old instances stop before new ones start' },
};

export function checkRollingStrategy(
  strategy: RawMap,
  path: ConfigPath,
  instances: unknown,
  templates: TemplateFacts,
  source: SourceMap | null,
): ConfigIssue[] {
  const issues = checkBatchKeys(strategy, path, source);
  const flagged = new Set(issues.map((issue) => issue.path));
  for (const key of ['parallelism', 'max_surge', 'max_unavailable']) {
    const issue = checkBatchFits(strategy[key], [...path, key], instances, source);
    if (issue !== null && !flagged.has(issue.path)) issues.push(issue);
  }
  issues.push(...checkTemplateReferences(strategy.analysis, [...path, 'analysis'], templates.names, source));
  issues.push(...checkMonitorWindow(strategy, path, source));
  issues.push(
    ...checkWindowCoversAnalysis(
      {
        raw: strategy.monitor,
        defaultMs: CONFIG_DEFAULTS.rolling.monitorMs,
        path: strategy.monitor === undefined ? path : [...path, 'monitor'],
        name: 'monitor',
        analysis: strategy.analysis,
      },
      templates.firstLooks,
      source,
    ),
  );
  return issues;
}

/** max_surge belongs to start-first, max_unavailable to stop-first, and either one replaces parallelism. */
function checkBatchKeys(strategy: RawMap, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  const written = strategy.order !== undefined;
  const order: Order | null = !written
    ? CONFIG_DEFAULTS.rolling.order
    : strategy.order === 'start-first' || strategy.order === 'stop-first'
      ? strategy.order
      : null;
  const issues: ConfigIssue[] = [];
  for (const own of ['start-first', 'stop-first'] as const) {
    const { key, other, meaning } = BATCH_KEY[own];
    if (strategy[key] === undefined) continue;
    if (order === other) {
      const which = written ? `this strategy is ${other}` : `this strategy is ${other} (the default)`;
      const instead = `set order: ${own}, or size the batch with ${BATCH_KEY[other].key} or parallelism`;
      issues.push(
        makeIssue(source, [...path, key], `only used with order: ${own} (${meaning}); ${which}: ${instead}`, 'key'),
      );
    } else if (strategy.parallelism !== undefined) {
      issues.push(
        makeIssue(
          source,
          [...path, key],
          `is another name for parallelism (the batch size, with order: ${own}); set only one of them`,
          'key',
        ),
      );
    }
  }
  return issues;
}

/** A batch is some of the service's instances: one larger than the service cannot be replaced as a batch. */
function checkBatchFits(
  batch: unknown,
  path: ConfigPath,
  instances: unknown,
  source: SourceMap | null,
): ConfigIssue | null {
  const over = moreThanTheService(batch, instances);
  if (over === null) return null;
  const { count, service } = over;
  return makeIssue(
    source,
    path,
    `a batch of ${batch} is larger than the service (${service}); set at most ${count}, or raise instances`,
  );
}

/**
 * A batch's analysis runs during its monitor window and is judged when the
 * window closes; `monitor: 0s` closes it at once, before anything is measured,
 * so the analysis would pass without looking.
 */
function checkMonitorWindow(strategy: RawMap, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  if (strategy.monitor === undefined) return [];
  const monitor = parseDuration(strategy.monitor, { allowZero: true });
  if (!monitor.ok || monitor.ms > 0) return [];
  const names =
    typeof strategy.analysis === 'string'
      ? [strategy.analysis]
      : Array.isArray(strategy.analysis)
        ? strategy.analysis
        : [];
  if (names.length === 0) return [];
  const window = formatDuration(CONFIG_DEFAULTS.rolling.monitorMs);
  return [
    makeIssue(
      source,
      [...path, 'monitor'],
      `analysis runs during each batch's monitor window, which 0s closes before anything is measured; set a longer monitor (default ${window}) or remove analysis`,
    ),
  ];
}
