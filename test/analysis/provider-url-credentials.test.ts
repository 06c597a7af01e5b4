import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MeasurementContext } from '../../src/analysis/index.js';
import { PrometheusProvider } from '../../src/analysis/prometheus-provider.js';
import { WebProvider } from '../../src/analysis/web-provider.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus-server.js';

/**
 * A Prometheus behind basic auth (Grafana Cloud, a team's exposed server) is
 * written as `https://user:pass@host`, the form curl and Grafana take. The
 * providers dropped that user info without a word (undici ignores it), so
 * every query went out unauthenticated, each measurement was a 401, and
 * every canary judged by it paused as inconclusive, with no way to pass a
 * password: the prometheus provider has no headers. Against a real
 * Prometheus with `basic_auth_users`, the URL's credentials now reach it,
 * percent-encoded characters included; a wrong password is still refused.
 */
const USER = 'cutover';
const PASSWORD = 'p@ss:w/rd-for-cutover';
// bcrypt (cost 4) of PASSWORD, made once with Python's crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)).
const BCRYPT_HASH = '$2b$04$51IZ0cZrC1X71lctQ7H8jOKTJlNQGmQ/mrBsXhtVQD9LFKZmxO8zK';

const context: MeasurementContext = {
  service: 'web',
  canaryReleaseId: 'web-2',
  stableReleaseId: 'web-1',
  windowStart: Date.now(),
};

describe('metric provider URLs with credentials', () => {
  let prometheus: PrometheusServer;
  const withCredentials = (user: string, password: string): string =>
    prometheus.url.replace('http://', `http://${encodeURIComponent(user)}:${encodeURIComponent(password)}@`);

  before(async () => {
    prometheus = await startPrometheus({
      scrapeConfigs: [],
      basicAuth: { user: USER, password: PASSWORD, bcryptHash: BCRYPT_HASH },
    });
  });

  after(async () => {
    await prometheus?.stop();
  });

  it('the prometheus provider sends the URL user and password as basic auth', async () => {
    const unauthenticated = await new PrometheusProvider({
      url: prometheus.url,
      query: 'vector(7)',
      timeoutMs: 5000,
    }).measure(context);
    assert.ok('error' in unauthenticated && /401/.test(unauthenticated.error), JSON.stringify(unauthenticated));

    const result = await new PrometheusProvider({
      url: withCredentials(USER, PASSWORD),
      query: 'vector(7)',
      timeoutMs: 5000,
    }).measure(context);
    assert.ok('value' in result, JSON.stringify(result));
    assert.equal(result.value, 7);

    const wrong = await new PrometheusProvider({
      url: withCredentials(USER, 'not-the-password'),
      query: 'vector(7)',
      timeoutMs: 5000,
    }).measure(context);
    assert.ok('error' in wrong && /401/.test(wrong.error), JSON.stringify(wrong));
  });

  it('the web provider does too, unless an authorization header is configured', async () => {
    const web = (url: string, headers: Record<string, string> = {}) =>
      new WebProvider({
        url: `${url}/api/v1/query?query=vector(8)`,
        method: 'GET',
        headers,
        body: null,
        jsonPath: '$.data.result[0].value[1]',
        timeoutMs: 5000,
      });
    const result = await web(withCredentials(USER, PASSWORD)).measure(context);
    assert.ok('value' in result, JSON.stringify(result));
    assert.equal(result.value, '8');

    const configuredHeaderWins = await web(withCredentials(USER, PASSWORD), {
      Authorization: `Basic ${Buffer.from(`${USER}:not-the-password`).toString('base64')}`,
    }).measure(context);
    assert.ok('error' in configuredHeaderWins && /401/.test(configuredHeaderWins.error));
  });
});
