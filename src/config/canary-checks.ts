import { moreThanTheService } from './instance-count.js';
import { parseDuration } from './duration.js';
import { checkTemplateReferences } from './analysis-checks.js';
import { checkWindowCoversAnalysis, firstLooks, type FirstLook } from './analysis-window-checks.js';
import { CONFIG_DEFAULTS } from './config-defaults.js';
import { makeIssue, type ConfigIssue, type ConfigPath, type SourceMap } from './config-issues.js';

/**
 * Checks of a `strategy: canary` map that span fields: weights that never go
 * down, template names that exist, a pause for a step whose analysis only
 * stops when the step does, stickiness and match rules that say what they
 * match on. Raw values are read defensively (the schema reports bad types).
 */

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** What the checks need to know of the analysis section. */
export interface TemplateFacts {
  names: string[];
  /** Templates with a metric that has no `count`: it measures until its step ends. */
  untilStepEnds: Map<string, string>;
  /** How long after a window opens each template first measures it (analysis-window-checks.ts). */
  firstLooks: Map<string, FirstLook>;
}

export function templateFacts(analysis: unknown): TemplateFacts {
  const facts: TemplateFacts = { names: [], untilStepEnds: new Map(), firstLooks: firstLooks(analysis) };
  if (!isMap(analysis)) return facts;
  for (const [name, template] of Object.entries(analysis)) {
    facts.names.push(name);
    const metrics = isMap(template) && Array.isArray(template.metrics) ? (template.metrics as unknown[]) : [];
    const open = metrics.find((metric) => isMap(metric) && metric.count === undefined);
    if (isMap(open)) facts.untilStepEnds.set(name, typeof open.name === 'string' ? open.name : '?');
  }
  return facts;
}

export function checkCanaryStrategy(
  strategy: RawMap,
  path: ConfigPath,
  templates: TemplateFacts,
  source: SourceMap | null,
  instances?: unknown,
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  if (Array.isArray(strategy.steps)) issues.push(...checkSteps(strategy.steps, [...path, 'steps'], templates, source));
  const tooMany = checkCanaryInstances(strategy.canary_instances, [...path, 'canary_instances'], instances, source);
  if (tooMany !== null) issues.push(tooMany);
  issues.push(...checkTemplateReferences(strategy.analysis, [...path, 'analysis'], templates.names, source));
  if (isMap(strategy.stickiness)) issues.push(...checkStickiness(strategy.stickiness, [...path, 'stickiness'], source));
  if (Array.isArray(strategy.match)) {
    strategy.match.forEach((rule: unknown, index) => {
      if (isMap(rule)) issues.push(...checkMatchRule(rule, [...path, 'match', index], source));
    });
  }
  issues.push(...checkPostPromotion(strategy, path, templates, source));
  return issues;
}

/**
 * The canary runs at most as many instances as the service: at 100% it
 * becomes the service's release as it runs, so more canary instances than
 * `instances` left the promoted service running that many (status said
 * "3/1 healthy") until its next deploy.
 */
function checkCanaryInstances(
  canary: unknown,
  path: ConfigPath,
  instances: unknown,
  source: SourceMap | null,
): ConfigIssue | null {
  const over = moreThanTheService(canary, instances);
  if (over === null) return null;
  const { count, service } = over;
  return makeIssue(
    source,
    path,
    `${canary} canary instances are more than the service runs (${service}); the canary may run fewer, not more: set at most ${count}, or raise instances`,
  );
}

/** `post_promotion` of a canary or blue-green strategy: at least one template, each defined. */
export function checkPostPromotion(
  strategy: RawMap,
  path: ConfigPath,
  templates: TemplateFacts,
  source: SourceMap | null,
  key: 'post_promotion' | 'pre_promotion' = 'post_promotion',
): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const post = strategy[key];
  if (isMap(post)) {
    const postPath = [...path, key];
    const names = typeof post.analysis === 'string' ? [post.analysis] : post.analysis;
    if (names === undefined || (Array.isArray(names) && names.length === 0)) {
      issues.push(
        makeIssue(
          source,
          [...postPath, 'analysis'],
          `expected at least one analysis template to run ${key === 'pre_promotion' ? 'before' : 'after'} promotion, like [error-rate]`,
        ),
      );
    }
    issues.push(...checkTemplateReferences(post.analysis, [...postPath, 'analysis'], templates.names, source));
    const defaultMs =
      key === 'pre_promotion' ? CONFIG_DEFAULTS.prePromotionWindowMs : CONFIG_DEFAULTS.canary.postPromotionWindowMs;
    issues.push(
      ...checkWindowCoversAnalysis(
        {
          raw: post.window,
          defaultMs,
          path: post.window === undefined ? postPath : [...postPath, 'window'],
          name: `${key}.window`,
          analysis: post.analysis,
        },
        templates.firstLooks,
        source,
      ),
    );
  }
  return issues;
}

function checkSteps(
  steps: unknown[],
  path: ConfigPath,
  templates: TemplateFacts,
  source: SourceMap | null,
): ConfigIssue[] {
  if (steps.length === 0)
    return [makeIssue(source, path, 'expected at least one step, like - { weight: 25, pause: 1m }')];
  const issues: ConfigIssue[] = [];
  let previous: { weight: number; index: number } | null = null;
  steps.forEach((step, index) => {
    if (!isMap(step)) return;
    const stepPath = [...path, index];
    if (typeof step.weight === 'number') {
      if (previous !== null && step.weight < previous.weight) {
        issues.push(
          makeIssue(
            source,
            [...stepPath, 'weight'],
            `weights must not go down: ${step.weight} comes after ${previous.weight} in steps[${previous.index}]`,
          ),
        );
      }
      previous = { weight: step.weight, index };
    }
    issues.push(...checkTemplateReferences(step.analysis, [...stepPath, 'analysis'], templates.names, source));
    issues.push(...checkStepPause(step, stepPath, templates, source));
    issues.push(
      ...checkWindowCoversAnalysis(
        {
          raw: step.pause,
          defaultMs: CONFIG_DEFAULTS.canary.stepPauseMs,
          path: step.pause === undefined ? stepPath : [...stepPath, 'pause'],
          name: 'pause',
          analysis: step.analysis,
        },
        templates.firstLooks,
        source,
      ),
    );
  });
  return issues;
}

/** A step without pause ends at once; an analysis that measures until the step ends would never measure. */
function checkStepPause(
  step: RawMap,
  path: ConfigPath,
  templates: TemplateFacts,
  source: SourceMap | null,
): ConfigIssue[] {
  const pause =
    step.pause === undefined
      ? { ok: true as const, ms: CONFIG_DEFAULTS.canary.stepPauseMs }
      : parseDuration(step.pause, { allowZero: true });
  if (!pause.ok || pause.ms > 0) return [];
  const names = typeof step.analysis === 'string' ? [step.analysis] : Array.isArray(step.analysis) ? step.analysis : [];
  for (const name of names) {
    const metric = typeof name === 'string' ? templates.untilStepEnds.get(name.trim()) : undefined;
    if (metric === undefined) continue;
    const where = step.pause === undefined ? path : [...path, 'pause'];
    return [
      makeIssue(
        source,
        where,
        `a step running analysis "${name}" needs a pause: its metric "${metric}" has no count and measures until the step ends, which without a pause is at once`,
      ),
    ];
  }
  return [];
}

function checkStickiness(stickiness: RawMap, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  if (stickiness.by === 'header' && stickiness.name === undefined) {
    return [
      makeIssue(
        source,
        [...path, 'name'],
        'required for by: header: the request header that tells users apart, like X-User-Id',
      ),
    ];
  }
  if (stickiness.by === 'ip' && stickiness.name !== undefined) {
    return [
      makeIssue(source, [...path, 'name'], 'only used by cookie and header stickiness (this one is by ip)', 'key'),
    ];
  }
  return [];
}

function checkMatchRule(rule: RawMap, path: ConfigPath, source: SourceMap | null): ConfigIssue[] {
  if (rule.header === undefined && rule.cookie === undefined) {
    return [makeIssue(source, path, 'expected header or cookie, like { header: X-Canary, value: always }')];
  }
  if (rule.header !== undefined && rule.cookie !== undefined) {
    return [
      makeIssue(
        source,
        [...path, 'cookie'],
        'choose header or cookie for one rule, not both (write two rules to match either)',
        'key',
      ),
    ];
  }
  return [];
}
