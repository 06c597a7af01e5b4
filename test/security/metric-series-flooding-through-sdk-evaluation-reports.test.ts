import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { SqliteFlagStore } from '../../src/flags/sqlite-flag-store.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';

/**
 * Finding 8 of issue 12: the SDK token (which every application carries)
 * could report counts for any flag key or variant, existing or not: 5 posts
 * of 10,000 made-up keys made 50,000 series and a 5.7 MB /metrics. Counts
 * are now taken only for flags and variants that exist; the rest are
 * dropped and counted in cutover_flag_evaluations_dropped_total, and the
 * number of series is capped.
 */
const POSTS = 5;
const MADE_UP = 10_000;

describe('metric series flooding through SDK evaluation reports', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ instances: 1 });
  });
  after(async () => {
    await h?.close();
  });

  const call = async (
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    token: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await request(`${h.server.adminUrl}${url}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.statusCode, text: await response.body.text() };
  };
  const seriesInDatabase = (): number => {
    const db = new Database(path.join(h.dir, 'state', 'cutover.db'), { readonly: true });
    try {
      return (db.prepare('SELECT COUNT(*) AS n FROM flag_evaluations').get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  it('keeps /metrics and the database the size of the real flags while made-up keys pour in, and still counts the real ones', async () => {
    const created = await call('POST', '/api/v1/flags', h.server.token, {
      flag: {
        key: 'checkout',
        enabled: true,
        variants: { on: true, off: false },
        defaultVariant: 'off',
        offVariant: 'off',
      },
    });
    assert.equal(created.status, 201, created.text);
    const metricsBefore = (await call('GET', '/metrics', h.server.token)).text;

    for (let post = 0; post < POSTS; post++) {
      const counts = [
        { flag: 'checkout', variant: 'on', count: 3 },
        { flag: 'checkout', variant: null, count: 1 },
        { flag: 'checkout', variant: `made-up-variant-${post}`, count: 1 },
        ...Array.from({ length: MADE_UP - 3 }, (_, i) => ({ flag: `made-up-${post}-${i}`, variant: 'on', count: 1 })),
      ];
      const report = await call('POST', '/api/v1/sdk/evaluations', h.server.sdkToken, { sdk: 'flood', counts });
      assert.equal(report.status, 202, report.text);
      assert.deepEqual(JSON.parse(report.text), { accepted: 2, dropped: MADE_UP - 2 });
    }

    assert.equal(seriesInDatabase(), 2, 'only checkout/on and checkout/errors are stored');
    const metricsAfter = (await call('GET', '/metrics', h.server.token)).text;
    assert.doesNotMatch(metricsAfter, /made-up/);
    const flagLines = (text: string): string[] =>
      text.split('\n').filter((line) => line.startsWith('cutover_flag_evaluations_total{'));
    assert.deepEqual(flagLines(metricsAfter).sort(), [
      'cutover_flag_evaluations_total{environment="production",flag="checkout",variant=""} 5',
      'cutover_flag_evaluations_total{environment="production",flag="checkout",variant="on"} 15',
    ]);
    assert.equal(flagLines(metricsBefore).length, 0);
    assert.match(
      metricsAfter,
      /^cutover_flag_evaluations_dropped_total\{environment="production",reason="unknown_flag"\} 49985$/m,
    );
    assert.match(
      metricsAfter,
      /^cutover_flag_evaluations_dropped_total\{environment="production",reason="unknown_variant"\} 5$/m,
    );
    // The process metrics vary a little between scrapes; the flood adds a few lines, not 50,000.
    assert.ok(
      metricsAfter.length - metricsBefore.length < 2000,
      `/metrics grew by ${metricsAfter.length - metricsBefore.length} bytes`,
    );

    const got = JSON.parse((await call('GET', '/api/v1/flags/checkout', h.server.token)).text) as {
      evaluations: { variant: string | null; count: number }[];
    };
    assert.deepEqual(
      got.evaluations.map((e) => [e.variant, e.count]),
      [
        ['on', 15],
        [null, 5],
      ],
    );
  });

  it('refuses a report of more than 10,000 counts', async () => {
    const counts = Array.from({ length: 10_001 }, () => ({ flag: 'checkout', variant: 'on', count: 1 }));
    const report = await call('POST', '/api/v1/sdk/evaluations', h.server.sdkToken, { counts });
    assert.equal(report.status, 400);
    assert.match(report.text, /at most 10,000 counts/);
  });

  it('drops the counts of a variant the flag no longer has', async () => {
    await call('POST', '/api/v1/flags', h.server.token, {
      flag: {
        key: 'renamed',
        enabled: true,
        variants: { blue: 1, green: 2 },
        defaultVariant: 'blue',
        offVariant: 'blue',
      },
    });
    await call('POST', '/api/v1/sdk/evaluations', h.server.sdkToken, {
      counts: [
        { flag: 'renamed', variant: 'green', count: 4 },
        { flag: 'renamed', variant: 'blue', count: 2 },
      ],
    });
    await call('POST', '/api/v1/sdk/evaluations', h.server.sdkToken, { counts: [] });
    const patched = await call('PUT', '/api/v1/flags/renamed', h.server.token, {
      flag: { enabled: true, variants: { blue: 1, teal: 3 }, defaultVariant: 'blue', offVariant: 'blue' },
    });
    assert.equal(patched.status, 200, patched.text);
    const got = JSON.parse((await call('GET', '/api/v1/flags/renamed', h.server.token)).text) as {
      evaluations: { variant: string | null; count: number }[];
    };
    assert.deepEqual(
      got.evaluations.map((e) => [e.variant, e.count]),
      [['blue', 2]],
    );
  });

  it('caps the number of series in the store', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-series-cap-'));
    const sqlite = SqliteStore.open(dir);
    try {
      const store = new SqliteFlagStore(sqlite.connection);
      const counts = Array.from({ length: 5 }, (_, i) => ({ flag: `flag-${i}`, variant: 'on', count: 1 }));
      assert.equal(store.addEvaluations('production', counts, 1, 3), 2, 'two new series over the cap of 3 are refused');
      assert.equal(store.addEvaluations('production', counts, 2, 3), 2, 'existing series still count');
      assert.deepEqual(
        store
          .allEvaluations()
          .map((e) => [e.key, e.count])
          .sort(),
        [
          ['flag-0', 2],
          ['flag-1', 2],
          ['flag-2', 2],
        ],
      );
    } finally {
      sqlite.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
