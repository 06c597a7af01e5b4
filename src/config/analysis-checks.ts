import { isScalar } from 'yaml';
import { parseCondition, type ConditionErrorDetails } from '../core/analysis/condition.js';
import { isCutoverError } from '../core/errors.js';
import { PROVIDER_KINDS } from './analysis-schema.js';
import { closestKey, findNode, makeIssue, type ConfigIssue, type ConfigPath, type SourceMap } from './config-issues.js';

/**
 * Checks of the `analysis:` section that span fields: template and metric
 * names, one provider kind per metric, at least one condition per metric,
 * and every condition parsed now, so a typo is reported with its line and the
 * column of the very character, not when a canary step first measures.
 * Like config-checks.ts, they read the raw document defensively and skip what
 * the schema already rejects.
 */

/** Template names are written in strategies and shown in the CLI, so they follow the service-name rules. */
export const TEMPLATE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function checkAnalysis(analysis: unknown, source: SourceMap | null): ConfigIssue[] {
  if (!isMap(analysis)) return [];
  const issues: ConfigIssue[] = [];
  for (const [name, template] of Object.entries(analysis)) {
    const path = ['analysis', name];
    if (!TEMPLATE_NAME.test(name)) {
      issues.push(
        makeIssue(
          source,
          path,
          `expected a template name of lowercase letters, digits and hyphens, got ${JSON.stringify(name)}`,
          'key',
        ),
      );
    }
    if (!isMap(template) || !Array.isArray(template.metrics)) continue;
    if (template.metrics.length === 0) {
      issues.push(
        makeIssue(
          source,
          [...path, 'metrics'],
          'expected at least one metric, like - { name: errors, provider: { builtin: error-rate }, failure_condition: result > 0.05 }',
        ),
      );
    }
    const seen = new Set<string>();
    template.metrics.forEach((metric: unknown, index) => {
      if (!isMap(metric)) return;
      const metricPath = [...path, 'metrics', index];
      if (metric.name === undefined)
        issues.push(
          makeIssue(source, [...metricPath, 'name'], 'required: a name for this metric, shown in the release history'),
        );
      else if (typeof metric.name === 'string' && seen.has(metric.name.trim())) {
        issues.push(
          makeIssue(
            source,
            [...metricPath, 'name'],
            `metric "${metric.name.trim()}" is already defined in this template`,
          ),
        );
      } else if (typeof metric.name === 'string') seen.add(metric.name.trim());
      issues.push(...checkMetric(metric, metricPath, source));
    });
  }
  return issues;
}

function checkMetric(metric: RawMap, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (metric.provider === undefined) {
    issues.push(
      makeIssue(
        source,
        [...path, 'provider'],
        'required: where the value comes from, like { builtin: error-rate } or { prometheus: { url, query } }',
      ),
    );
  } else if (isMap(metric.provider)) {
    issues.push(...checkProvider(metric.provider, [...path, 'provider'], source));
  }
  if (metric.success_condition === undefined && metric.failure_condition === undefined) {
    issues.push(
      makeIssue(
        source,
        path,
        'expected success_condition, failure_condition or both: without one every measurement would pass',
      ),
    );
  }
  for (const key of ['success_condition', 'failure_condition']) {
    const condition = metric[key];
    if (typeof condition === 'string' && condition.trim() !== '')
      issues.push(...checkCondition(condition, [...path, key], source));
  }
  return issues;
}

function checkProvider(provider: RawMap, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  const kinds = Object.keys(provider).filter(
    (key) => (PROVIDER_KINDS as readonly string[]).includes(key) || key === 'type',
  );
  const at = (key: string, message: string) => makeIssue(source, [...path, key], message, 'key');
  if (kinds.length === 0) {
    const stray = Object.keys(provider).includes('metric');
    return [
      makeIssue(
        source,
        stray ? [...path, 'metric'] : path,
        `expected one of ${PROVIDER_KINDS.join(', ')}, like { builtin: error-rate }`,
        stray ? 'key' : 'value',
      ),
    ];
  }
  const [first, second] = kinds;
  if (second !== undefined) return [at(second, `choose one provider: ${first} or ${second}, not both`)];

  const issues: ConfigIssue[] = [];
  if (first === 'type' && provider.metric === undefined)
    issues.push(
      at('type', 'needs metric, like { type: builtin, metric: error-rate } (or write { builtin: error-rate })'),
    );
  if (first !== 'type' && provider.metric !== undefined)
    issues.push(at('metric', `only used with type: builtin (this provider is ${first})`));
  const web = provider.web;
  if (isMap(web) && web.body !== undefined && web.body !== null && (web.method ?? 'GET') === 'GET') {
    issues.push(makeIssue(source, [...path, 'web', 'body'], 'a body is only sent with method: POST'));
  }
  return issues;
}

function checkCondition(condition: string, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  try {
    parseCondition(condition);
    return [];
  } catch (error) {
    if (!isCutoverError(error) || error.code !== 'ANALYSIS_CONDITION_INVALID') throw error;
    const details = error.details as ConditionErrorDetails;
    const message = `expected ${details.expected} at column ${details.column} of the condition, found ${details.found}`;
    const issue = makeIssue(source, path, message);
    const offset = source === null ? null : columnOffset(source, path, condition);
    return [
      offset === null || issue.column === null
        ? issue
        : { ...issue, column: issue.column + offset + details.column - 1 },
    ];
  }
}

/**
 * How far into the YAML scalar the condition's first character is: 0 plain,
 * 1 quoted. Null when the source text is not the condition character for
 * character (escapes, folded lines, a `${...}` reference), so the issue
 * points at the value's start instead of a wrong column.
 */
function columnOffset(source: SourceMap, path: ConfigPath, condition: string): number | null {
  const { node, complete } = findNode(source.doc, path);
  if (!complete || !isScalar(node) || node.value !== condition || node.range === null || node.range === undefined)
    return null;
  const written = node.range[1] - node.range[0];
  if (node.type === 'PLAIN' && written === condition.length) return 0;
  if (
    (node.type === 'QUOTE_SINGLE' || node.type === 'QUOTE_DOUBLE') &&
    written === condition.length + 2 &&
    !/['"\\]/.test(condition)
  )
    return 1;
  return null;
}

/** An issue for each template name that is not defined, with a did-you-mean among the defined ones. */
export function checkTemplateReferences(
  names: unknown,
  path: ConfigPath,
  defined: readonly string[],
  source: SourceMap | null,
): ConfigIssue[] {
  const list = typeof names === 'string' ? [names] : names;
  if (!Array.isArray(list)) return [];
  const issues: ConfigIssue[] = [];
  list.forEach((name: unknown, index) => {
    if (typeof name !== 'string' || defined.includes(name.trim())) return;
    const guess = closestKey(name.trim(), defined);
    let message = `no analysis template named ${JSON.stringify(name.trim())}`;
    if (guess !== null) message += `; did you mean ${JSON.stringify(guess)}?`;
    else
      message +=
        defined.length === 0
          ? '; define it under analysis: at the top of the file'
          : `; defined: ${defined.join(', ')}`;
    issues.push(makeIssue(source, Array.isArray(names) ? [...path, index] : path, message));
  });
  return issues;
}
