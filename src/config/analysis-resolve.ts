import type { RawAnalysis, RawLoad, RawMetric, RawProvider } from './analysis-schema.js';
import { CONFIG_DEFAULTS } from './config-defaults.js';
import type {
  AnalysisLoadConfig,
  AnalysisMetricConfig,
  AnalysisTemplateConfig,
  MetricProviderConfig,
} from './types.js';

/**
 * The checked `analysis:` section → templates with every default filled in.
 * Conditions stay source text (the analysis run parses them again, in
 * microseconds); they were parsed once at load, so they are known to be valid.
 */
export function resolveAnalysis(raw: RawAnalysis, baseDir: string): Record<string, AnalysisTemplateConfig> {
  const templates: Record<string, AnalysisTemplateConfig> = {};
  for (const [name, template] of Object.entries(raw)) {
    templates[name] = {
      name,
      metrics: template.metrics.map((metric) => resolveMetric(metric, baseDir)),
      ...(template.load === undefined ? {} : { load: resolveLoad(template.load) }),
    };
  }
  return templates;
}

function resolveLoad(raw: RawLoad): AnalysisLoadConfig {
  return {
    rate: raw.rate,
    path: raw.path,
    method: raw.method ?? 'GET',
    // Real traffic at the load's own rate is as much evidence as the load would give.
    onlyBelow: raw.only_below ?? raw.rate,
    timeoutMs: raw.timeout ?? CONFIG_DEFAULTS.analysis.loadTimeoutMs,
  };
}

function resolveMetric(raw: RawMetric, baseDir: string): AnalysisMetricConfig {
  const defaults = CONFIG_DEFAULTS.analysis;
  return {
    name: raw.name,
    provider: resolveProvider(raw.provider ?? {}, baseDir),
    intervalMs: raw.interval ?? defaults.intervalMs,
    initialDelayMs: raw.initial_delay ?? defaults.initialDelayMs,
    count: raw.count ?? null,
    successCondition: raw.success_condition ?? null,
    failureCondition: raw.failure_condition ?? null,
    failureLimit: raw.failure_limit ?? defaults.failureLimit,
    inconclusiveLimit: raw.inconclusive_limit ?? defaults.inconclusiveLimit,
    consecutiveErrorLimit: raw.consecutive_error_limit ?? defaults.consecutiveErrorLimit,
  };
}

function resolveProvider(raw: RawProvider, baseDir: string): MetricProviderConfig {
  const defaults = CONFIG_DEFAULTS.analysis;
  if (raw.prometheus !== undefined) {
    const { url, query, timeout } = raw.prometheus;
    return { type: 'prometheus', url, query, timeoutMs: timeout ?? defaults.requestTimeoutMs };
  }
  if (raw.web !== undefined) {
    const web = raw.web;
    return {
      type: 'web',
      url: web.url,
      method: web.method ?? defaults.webMethod,
      headers: web.headers ?? {},
      body: web.body ?? null,
      jsonPath: web.json_path ?? defaults.jsonPath,
      timeoutMs: web.timeout ?? defaults.requestTimeoutMs,
    };
  }
  if (raw.command !== undefined) {
    // Relative scripts (./check.sh) are found next to cutover.yaml, wherever the server was started.
    return {
      type: 'command',
      command: raw.command.command,
      timeoutMs: raw.command.timeout ?? defaults.commandTimeoutMs,
      cwd: baseDir,
      ...(raw.command.inherit_env === undefined ? {} : { inheritEnv: raw.command.inherit_env }),
    };
  }
  // The checks guarantee a builtin metric here (`builtin: x` or `type: builtin, metric: x`).
  return { type: 'builtin', metric: raw.builtin ?? raw.metric ?? 'error-rate' };
}
