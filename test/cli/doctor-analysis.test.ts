import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runDoctor, type CheckResult } from '../../src/doctor/doctor-checks.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { SAMPLE_APP } from '../support/cutover-harness.js';
import { startPrometheus, type PrometheusServer } from '../support/prometheus-server.js';

/**
 * Issue 20, item 15: `cutover doctor` asks each Prometheus and web analysis provider once, against a real
 * Prometheus and a real HTTP server on loopback, so a query that returns no number is found before a canary
 * pauses on it.
 */
describe('cutover doctor checks the analysis providers', () => {
  let dir: string;
  let prometheus: PrometheusServer;
  let stats: http.Server;
  let statsUrl: string;
  let checks: Record<string, CheckResult>;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-doctor-analysis-'));
    prometheus = await startPrometheus({ scrapeConfigs: [] });
    stats = http.createServer((req, res) => {
      if (req.url === '/ok') res.writeHead(200, { 'content-type': 'application/json' }).end('{"errors":0.02}');
      else res.writeHead(500).end('broken');
    });
    await new Promise<void>((resolve) => stats.listen(0, '127.0.0.1', resolve));
    statsUrl = `http://127.0.0.1:${(stats.address() as AddressInfo).port}`;
    const closedPort = await findFreePort();
    const metric = (name: string, provider: string): string =>
      `      - { name: ${name}, provider: ${provider}, failure_condition: result > 0.05 }\n`;
    const file = path.join(dir, 'cutover.yaml');
    fs.writeFileSync(
      file,
      `server:\n  proxy: 127.0.0.1:${await findFreePort()}\n  admin: 127.0.0.1:${await findFreePort()}\n  state_dir: ${dir}/state\n` +
        `services:\n  web:\n    command: node server.js\n    cwd: ${SAMPLE_APP}\n` +
        `analysis:\n  checks:\n    metrics:\n` +
        metric('number', `{ prometheus: { url: ${prometheus.url}, query: 'vector(0.02)' } }`) +
        metric('nodata', `{ prometheus: { url: ${prometheus.url}, query: 'sum(rate(http_errors_total[1m]))' } }`) +
        metric('down', `{ prometheus: { url: 'http://127.0.0.1:${closedPort}', query: 'vector(1)' } }`) +
        metric('site', `{ web: { url: '${statsUrl}/ok', json_path: $.errors } }`) +
        metric('broken', `{ web: { url: '${statsUrl}/broken', json_path: $.errors } }`) +
        metric('builtin', `{ builtin: error-rate }`),
    );
    const results = await runDoctor({ configFile: file, env: {} });
    checks = Object.fromEntries(results.map((result) => [result.id, result]));
    assert.equal(checks.config?.status, 'ok', JSON.stringify(checks.config));
  });
  after(async () => {
    await prometheus?.stop();
    await new Promise((resolve) => stats?.close(resolve));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('passes a query and a web metric that answer a number, saying the value', () => {
    assert.equal(checks['analysis.checks.number']?.status, 'ok');
    assert.match(checks['analysis.checks.number']?.message ?? '', /answers 0\.02/);
    assert.equal(checks['analysis.checks.site']?.status, 'ok');
  });

  it('fails a query without data, an unreachable Prometheus and a URL that answers 500, each with a fix', () => {
    assert.equal(checks['analysis.checks.nodata']?.status, 'fail');
    assert.match(checks['analysis.checks.nodata']?.message ?? '', /no data/);
    assert.equal(checks['analysis.checks.down']?.status, 'fail');
    assert.equal(checks['analysis.checks.broken']?.status, 'fail');
    assert.match(checks['analysis.checks.broken']?.message ?? '', /HTTP 500/);
    for (const id of ['nodata', 'down', 'broken']) assert.ok(checks[`analysis.checks.${id}`]?.fix);
  });

  it('does not ask builtin metrics, which read the proxy itself', () => {
    assert.equal(checks['analysis.checks.builtin'], undefined);
  });
});
