import { request, type Dispatcher } from 'undici';
import { splitCredentials } from '../core/url-credentials.js';
import { fetchText, snippet } from './http-fetch.js';
import type { MeasurementContext, MeasurementResult, MetricProvider } from './index.js';
import { parseJsonPath, readJsonPath, type JsonPathSegment } from '../core/analysis/json-path.js';

/**
 * A metric from any HTTP endpoint that answers JSON (a stats page, Datadog,
 * a status service): GET or POST with the configured headers and body; the
 * value is what the JSON path finds in a 2xx response (any JSON: a number, a
 * string, an object for conditions like result.p95 < 300). A non-2xx answer,
 * a body that is not JSON, or nothing at the path is an `{ error }`.
 *
 * A POST body gets `content-type: application/json` unless a content-type
 * header is configured. A URL's user and password (`https://user:pass@host`)
 * are sent as basic auth, unless an authorization header is configured.
 */
export interface WebProviderConfig {
  url: string;
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body: string | null;
  jsonPath: string;
  timeoutMs: number;
}

export class WebProvider implements MetricProvider {
  readonly description: string;
  private readonly path: JsonPathSegment[];
  private readonly headers: Record<string, string>;
  /** The URL requested: the configured one without its user info, which goes in the authorization header. */
  private readonly requestUrl: string;

  constructor(
    private readonly config: WebProviderConfig,
    private readonly dispatcher?: Dispatcher,
  ) {
    const parsed = parseJsonPath(config.jsonPath);
    // Config validation parsed it already; a path built in code is checked here.
    if (!parsed.ok) throw new RangeError(`json path ${JSON.stringify(config.jsonPath)}: ${parsed.expected}`);
    this.path = parsed.segments;
    const has = (header: string) => Object.keys(config.headers).some((name) => name.toLowerCase() === header);
    const { url, authorization } = splitCredentials(config.url);
    this.requestUrl = url;
    this.headers = {
      accept: 'application/json',
      ...(config.body !== null && !has('content-type') ? { 'content-type': 'application/json' } : {}),
      ...(authorization !== null && !has('authorization') ? { authorization } : {}),
      ...config.headers,
    };
    this.description = `web ${config.method} ${config.url} ${config.jsonPath}`;
  }

  async measure(context: MeasurementContext): Promise<MeasurementResult> {
    const { url, method, body } = this.config;
    const outcome = await fetchText(
      (signal) =>
        request(this.requestUrl, {
          method,
          headers: this.headers,
          body: body ?? undefined,
          signal,
          dispatcher: this.dispatcher,
        }),
      { timeoutMs: this.config.timeoutMs, signal: context.signal, what: url },
    );
    if ('error' in outcome) return outcome;
    if (outcome.status < 200 || outcome.status > 299)
      return { error: `${url} answered HTTP ${outcome.status}: ${snippet(outcome.text)}` };
    let document: unknown;
    try {
      document = JSON.parse(outcome.text);
    } catch {
      return { error: `${url} answered with a body that is not JSON: ${snippet(outcome.text)}` };
    }
    const found = readJsonPath(document, this.path);
    if (!found.found) return { error: `no value at ${found.missing} in the answer of ${url}` };
    return {
      value: found.value,
      message: `${this.config.jsonPath} = ${snippet(JSON.stringify(found.value) ?? 'undefined')}`,
    };
  }
}
