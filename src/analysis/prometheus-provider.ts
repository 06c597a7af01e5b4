import { request, type Dispatcher } from 'undici';
import { splitCredentials } from '../core/url-credentials.js';
import { fetchText, snippet, type RequestOutcome } from './http-fetch.js';
import { printable, type MeasurementContext, type MeasurementResult, type MetricProvider } from './index.js';

/**
 * A metric from Prometheus: an instant query (`GET <url>/api/v1/query`) that
 * must come out as one number: a scalar, or a vector of exactly one series.
 * `NaN`, `+Inf` and `-Inf` are read as the numbers they name (a rate over no
 * traffic is NaN: a failure condition that does not name it with isNaN() or
 * default() makes it inconclusive, core/analysis/analysis-run.ts). An
 * empty vector, several series, a range vector, Prometheus' own errors (a bad
 * query) and an unreachable server are all `{ error }`, with Prometheus'
 * message when it sent one. The query runs as written: no templating of the
 * release ids, so a query that needs them should be a web or command metric.
 * A URL's user and password (`https://user:pass@host`) are sent as basic auth.
 */
export interface PrometheusProviderConfig {
  url: string;
  query: string;
  timeoutMs: number;
}

interface PrometheusAnswer {
  status?: unknown;
  errorType?: unknown;
  error?: unknown;
  data?: { resultType?: unknown; result?: unknown };
}

interface Sample {
  metric?: Record<string, string>;
  value?: [number, string];
}

export class PrometheusProvider implements MetricProvider {
  readonly description: string;
  private readonly endpoint: string;
  private readonly headers: Record<string, string>;

  constructor(
    private readonly config: PrometheusProviderConfig,
    private readonly dispatcher?: Dispatcher,
  ) {
    const { url, authorization } = splitCredentials(config.url);
    this.endpoint = `${url.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(config.query)}`;
    this.headers = { accept: 'application/json', ...(authorization === null ? {} : { authorization }) };
    this.description = `prometheus ${config.url} ${config.query}`;
  }

  async measure(context: MeasurementContext): Promise<MeasurementResult> {
    const outcome = await fetchText(
      (signal) =>
        request(this.endpoint, {
          method: 'GET',
          headers: this.headers,
          signal,
          dispatcher: this.dispatcher,
        }),
      { timeoutMs: this.config.timeoutMs, signal: context.signal, what: `Prometheus at ${this.config.url}` },
    );
    if ('error' in outcome) return outcome;
    return readAnswer(outcome, this.config.query);
  }
}

function readAnswer(outcome: RequestOutcome, query: string): MeasurementResult {
  let answer: PrometheusAnswer;
  try {
    answer = JSON.parse(outcome.text) as PrometheusAnswer;
  } catch {
    return {
      error: `Prometheus answered HTTP ${outcome.status} with a body that is not JSON: ${snippet(outcome.text)}`,
    };
  }
  if (answer.status === 'error' || outcome.status < 200 || outcome.status > 299) {
    const type = typeof answer.errorType === 'string' ? `${answer.errorType}: ` : '';
    const message = typeof answer.error === 'string' ? answer.error : `HTTP ${outcome.status}`;
    return { error: printable(`Prometheus refused the query: ${type}${message}`) };
  }
  const { resultType, result } = answer.data ?? {};
  if (resultType === 'scalar' && Array.isArray(result)) return numberFrom(result[1], `${query} = `);
  if (resultType === 'vector' && Array.isArray(result)) {
    const series = result as Sample[];
    if (series.length === 0) return { error: `query returned no data: ${query}` };
    if (series.length > 1) {
      const labels = series
        .slice(0, 3)
        .map((sample) => formatLabels(sample.metric))
        .join(', ');
      return {
        error: `query returned ${series.length} series, a metric needs exactly one (aggregate it, like sum(...)): ${labels}${series.length > 3 ? ', ...' : ''}`,
      };
    }
    return numberFrom(series[0]?.value?.[1], `${formatLabels(series[0]?.metric)} = `);
  }
  if (resultType === 'matrix')
    return { error: 'query returned a range vector; use an instant query, like rate(x[1m]) instead of x[1m]' };
  return { error: `query returned a ${String(resultType)}, expected a scalar or a vector of one series` };
}

/** Prometheus sends sample values as strings, with NaN, +Inf and -Inf spelt its own way. */
function numberFrom(text: unknown, label: string): MeasurementResult {
  if (typeof text !== 'string') return { error: 'Prometheus sent a sample without a value' };
  const special: Record<string, number> = { NaN: Number.NaN, '+Inf': Infinity, Inf: Infinity, '-Inf': -Infinity };
  const value = special[text] ?? Number(text);
  if (Number.isNaN(value) && text !== 'NaN')
    return { error: `Prometheus sent a value that is not a number: ${JSON.stringify(text)}` };
  return { value, message: `${label}${text}` };
}

function formatLabels(metric: Record<string, string> | undefined): string {
  const entries = Object.entries(metric ?? {});
  return printable(`{${entries.map(([key, value]) => `${key}=${JSON.stringify(value)}`).join(', ')}}`);
}
