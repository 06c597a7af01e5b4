import { createProvider } from '../analysis/provider-factory.js';
import { SecretRedactor, secretValuesOf } from '../config/secret-redactor.js';
import type { AnalysisMetricConfig, CutoverConfig } from '../config/types.js';
import type { CheckResult } from './check-result.js';

/**
 * The analysis providers a deploy will ask, asked once now: a Prometheus
 * that is not reachable, a query that returns no number, a web metric whose
 * URL does not answer would otherwise be found by the first canary, which
 * then pauses as inconclusive (issue 20, item 15). Prometheus and web
 * metrics only: builtin ones read the proxy's own counters, and a command
 * metric is the team's program, which doctor does not run (it may change
 * things; doctor changes nothing).
 */
export async function checkAnalysisProviders(config: CutoverConfig): Promise<CheckResult[]> {
  const redactor = new SecretRedactor(secretValuesOf(config));
  const checks: Promise<CheckResult>[] = [];
  for (const template of Object.values(config.analysis)) {
    for (const metric of template.metrics) {
      if (metric.provider.type === 'prometheus' || metric.provider.type === 'web')
        checks.push(checkMetric(template.name, metric, redactor));
    }
  }
  return Promise.all(checks);
}

async function checkMetric(
  template: string,
  metric: AnalysisMetricConfig,
  redactor: SecretRedactor,
): Promise<CheckResult> {
  const id = `analysis.${template}.${metric.name}`;
  const provider = createProvider(metric.provider, { counters: () => [] });
  const what = `analysis ${template}/${metric.name} (${provider.description})`;
  const result = await provider.measure({
    service: 'doctor',
    canaryReleaseId: 'doctor',
    stableReleaseId: null,
    windowStart: Date.now(),
  });
  const fix =
    metric.provider.type === 'prometheus'
      ? "Run the query in Prometheus's own UI until it returns one number (aggregate with sum(...), use an instant query), and check its url (analysis.<template>.metrics[].provider.prometheus.url)."
      : 'Check the URL, its headers and json_path: the answer must be JSON with a number at that path.';
  if ('error' in result) return { id, status: 'fail', message: redactor.redactText(`${what}: ${result.error}`), fix };
  if (typeof result.value !== 'number' || Number.isNaN(result.value))
    return {
      id,
      status: 'warn',
      message: redactor.redactText(`${what} answered ${JSON.stringify(result.value)}, not a number`),
      fix,
    };
  return { id, status: 'ok', message: redactor.redactText(`${what} answers ${result.value}`) };
}
