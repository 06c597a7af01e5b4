import type { Flag, JsonValue, Rollout } from '../../flags/flag-model.js';
import { formatDuration as formatConfigDuration } from '../../config/duration.js';
import { bold, dim, formatTime, green, red, yellow } from '../output.js';
import type { AuditEntry, EvaluationCount, FlagDetail, FlagEntry, FlagRollout } from './flag-api-answers.js';
import { formatRollout, formatRule } from './flag-rule-shorthand.js';

/**
 * How `cutover flags` shows flags to a person: the list as a table, one flag
 * in full, and each history entry as a short before → after summary
 * ("rollout 10% → 50%", "enabled true → false"). --json prints the API's
 * answers instead.
 */

/** Columns padded to their widest cell; colour is applied after padding so widths stay right. */
export function renderTable(
  header: string[],
  rows: string[][],
  paint: (row: number, column: number, text: string) => string = (_r, _c, text) => text,
): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[], row: number): string =>
    cells
      .map((cell, column) => {
        const padded = column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0);
        return row < 0 ? padded : paint(row, column, padded);
      })
      .join('  ')
      .trimEnd();
  return [bold(line(header, -1)), ...rows.map((row, index) => line(row, index))].join('\n') + '\n';
}

/** The rollout column of `flags list`: `10% on, rules: 2`, `-` without either. */
export function rolloutSummary(flag: Flag): string {
  const parts: string[] = [];
  if (flag.rollout !== null) parts.push(formatRollout(flag.rollout));
  if (flag.rules.length > 0) parts.push(`rules: ${flag.rules.length}`);
  return parts.length === 0 ? '-' : parts.join(', ');
}

export function renderFlagList(environment: string, entries: readonly FlagEntry[]): string {
  if (entries.length === 0)
    return `no flags in ${environment}; create one with \`cutover flags set <key> --percent 10\`\n`;
  const rows = entries.map(({ flag, version, updatedAt, updatedBy, stale }) => [
    flag.key + ((stale ?? []).length > 0 ? ' *' : ''),
    flag.enabled ? 'yes' : 'no',
    rolloutSummary(flag),
    `${flag.defaultVariant}/${flag.offVariant}`,
    String(version),
    `${formatTime(updatedAt)} by ${updatedBy}`,
    (stale ?? [])
      .map((entry) => `${staleLabel(entry.reason)} since ${formatTime(entry.since).slice(0, 10)}`)
      .join('; '),
  ]);
  const table = renderTable(
    ['KEY', 'ENABLED', 'ROLLOUT', 'DEFAULT/OFF', 'VERSION', 'UPDATED', 'STALE'],
    rows,
    (_row, column, text) =>
      column === 1 ? (text.trim() === 'yes' ? green(text) : red(text)) : column === 6 ? yellow(text) : text,
  );
  const staleCount = entries.filter((entry) => (entry.stale ?? []).length > 0).length;
  if (staleCount > 0)
    return `${dim(`environment ${environment}`)}\n${table}${dim(`* stale: ${staleCount} flag${staleCount === 1 ? '' : 's'}; see \`cutover flags stale\``)}\n`;
  return `${dim(`environment ${environment}`)}\n${table}`;
}

function staleLabel(reason: string): string {
  return reason === 'single_value' ? 'one value for all' : 'not evaluated';
}

export function renderFlagDetail(detail: FlagDetail): string {
  const { flag } = detail;
  const out: string[] = [];
  out.push(`${bold(flag.key)}  ${dim(`(${detail.environment}, version ${detail.version})`)}`);
  if (flag.description) out.push(`  ${flag.description}`);
  out.push(`  enabled:     ${flag.enabled ? green('yes') : red('no (kill switch: everyone gets the off variant)')}`);
  out.push(
    `  variants:    ${Object.entries(flag.variants)
      .map(([name, value]) => `${name} = ${formatJson(value)}`)
      .join(', ')}`,
  );
  out.push(`  default:     ${flag.defaultVariant}   off variant: ${flag.offVariant}`);
  if (flag.rules.length === 0) {
    out.push('  rules:       none');
  } else {
    out.push('  rules:       (first match wins)');
    flag.rules.forEach((rule, index) => out.push(`    ${index + 1}. ${formatRule(rule)}`));
  }
  out.push(`  rollout:     ${flag.rollout === null ? 'none' : describeRollout(flag.rollout)}`);
  out.push(`  updated:     ${formatTime(detail.updatedAt)} by ${detail.updatedBy}`);
  out.push(...renderEvaluations(detail.evaluations ?? []));
  const active = detail.activeRollout ?? null;
  out.push(`  rollout in progress: ${active === null ? 'none' : describeActiveRollout(active)}`);
  return `${out.join('\n')}\n`;
}

function describeRollout(rollout: Rollout): string {
  const who =
    rollout.variant !== undefined
      ? `get ${rollout.variant}`
      : `split ${rollout.variants.map((entry) => `${entry.variant}:${entry.weight}`).join(', ')}`;
  return `${rollout.percentage}% of users ${who}, sticky by ${rollout.stickiness}`;
}

function renderEvaluations(counts: readonly EvaluationCount[]): string[] {
  if (counts.length === 0) return ['  evaluations: none reported by SDKs yet'];
  const total = counts.reduce((sum, entry) => sum + entry.count, 0);
  const sorted = [...counts].sort((a, b) => b.count - a.count);
  const label = (entry: EvaluationCount): string => entry.variant ?? 'errors';
  const width = Math.max(...sorted.map((entry) => label(entry).length));
  const countWidth = Math.max(...sorted.map((entry) => String(entry.count).length));
  return [
    `  evaluations: ${total} reported by SDKs`,
    ...sorted.map((entry) => {
      const share = total === 0 ? 0 : (entry.count / total) * 100;
      const name = entry.variant === null ? red(label(entry).padEnd(width)) : label(entry).padEnd(width);
      const last = entry.lastSeenAt === null ? '' : dim(`  last ${formatTime(entry.lastSeenAt)}`);
      return `    ${name}  ${String(entry.count).padStart(countWidth)}  ${share.toFixed(1).padStart(5)}%${last}`;
    }),
  ];
}

export function describeActiveRollout(rollout: FlagRollout): string {
  const step = rollout.steps[rollout.stepIndex];
  const where = step === undefined ? 'starting' : `step ${rollout.stepIndex + 1} of ${rollout.steps.length} (${step}%)`;
  return (
    `${rollout.id}: ${where}, ` +
    `steps ${formatSteps(rollout.steps)}, pause ${formatConfigDuration(rollout.pauseMs)}` +
    `${rollout.analysis.length ? `, analysis ${rollout.analysis.join(', ')}` : ''}, by ${rollout.actor} since ${formatTime(rollout.startedAt)}`
  );
}

export function formatSteps(steps: readonly number[]): string {
  return steps.map((step) => `${step}%`).join(' → ');
}

function formatJson(value: JsonValue): string {
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** What one audit entry changed, in a few words: `rollout 10% → 50%; enabled true → false`. */
export function summarizeChange(entry: Pick<AuditEntry, 'action' | 'before' | 'after'>): string {
  const { before, after } = entry;
  if (entry.action === 'delete' || after === null) return 'deleted';
  if (entry.action === 'create' || before === null) {
    return `created: ${after.enabled ? 'enabled' : 'disabled'}, ${after.rollout === null ? 'no rollout' : `rollout ${formatRollout(after.rollout)}`}, rules: ${after.rules.length}`;
  }
  const changes: string[] = [];
  if (before.enabled !== after.enabled) changes.push(`enabled ${before.enabled} → ${after.enabled}`);
  const rollout = summarizeRollout(before.rollout, after.rollout);
  if (rollout) changes.push(rollout);
  if (!sameJson(before.rules, after.rules))
    changes.push(
      before.rules.length === after.rules.length
        ? `rules changed (${after.rules.length})`
        : `rules ${before.rules.length} → ${after.rules.length}`,
    );
  if (!sameJson(before.variants, after.variants))
    changes.push(`variants ${Object.keys(before.variants).join(',')} → ${Object.keys(after.variants).join(',')}`);
  if (before.defaultVariant !== after.defaultVariant)
    changes.push(`default ${before.defaultVariant} → ${after.defaultVariant}`);
  if (before.offVariant !== after.offVariant) changes.push(`off variant ${before.offVariant} → ${after.offVariant}`);
  if (before.description !== after.description) changes.push('description changed');
  return changes.length === 0 ? 'no change' : changes.join('; ');
}

function summarizeRollout(before: Rollout | null, after: Rollout | null): string | null {
  if (sameJson(before, after)) return null;
  if (before === null || after === null)
    return `rollout ${before === null ? 'none' : formatRollout(before)} → ${after === null ? 'none' : formatRollout(after)}`;
  // Only the percentage moved: the common case, said the short way.
  if (sameJson({ ...before, percentage: 0 }, { ...after, percentage: 0 }))
    return `rollout ${before.percentage}% → ${after.percentage}%`;
  return `rollout ${formatRollout(before)} → ${formatRollout(after)}`;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function renderHistory(key: string, entries: readonly AuditEntry[]): string {
  if (entries.length === 0) return `no history for ${key}\n`;
  const rows = entries.map((entry) => [
    formatTime(entry.at),
    entry.actor,
    entry.action,
    `v${entry.version}`,
    summarizeChange(entry),
    entry.reason ?? '',
  ]);
  return renderTable(['WHEN', 'WHO', 'ACTION', 'VERSION', 'CHANGE', 'REASON'], rows, (_row, column, text) =>
    column === 2 && text.trim() === 'delete' ? yellow(text) : text,
  );
}
