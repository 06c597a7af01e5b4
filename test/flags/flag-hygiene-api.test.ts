import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { ManualClock } from '../../src/clock/manual-clock.js';
import { runCli } from '../support/cli-process.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';

/**
 * Flag hygiene through the real admin API and the real CLI, on a server
 * whose flag feature runs on a ManualClock (docs/flags.md, "Flag hygiene"):
 * stale flags in the list, `stale`, /metrics; a scheduled change carried out
 * by a server restarted after its time; changes in production waiting for a
 * second person.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const FLAGS_YAML = `flags:
  environments: [production, staging]
  stale_after: 10d
  require_approval: [production]
`;

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

describe('flag hygiene on the admin API', () => {
  let h: Harness;
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const call = async (method: string, url: string, body?: unknown): Promise<Answer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${h.server.token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await request(`${h.server.adminUrl}${url}`, {
      method: method as 'GET',
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text && text.startsWith('{') ? JSON.parse(text) : text };
  };
  const cli = (args: string[], actor: string) =>
    runCli(['flags', ...args], {
      cwd: h.dir,
      env: { CUTOVER_URL: h.server.adminUrl, CUTOVER_TOKEN: h.server.token, CUTOVER_ACTOR: actor },
    });
  const boolFlag = (key: string, extra: Record<string, unknown> = {}) => ({
    key,
    enabled: true,
    variants: { on: true, off: false },
    defaultVariant: 'off',
    offVariant: 'off',
    ...extra,
  });

  before(async () => {
    h = await startHarness({ instances: 1, topLevelYaml: FLAGS_YAML, clock });
  });
  after(async () => {
    await h?.close();
  });

  it('reports a flag that served one value for stale_after in the list, `stale` and /metrics', async () => {
    const created = await call('POST', '/api/v1/flags?environment=staging', {
      flag: boolFlag('old-banner', { rollout: { percentage: 100, variant: 'on' } }),
      actor: 'ana',
    });
    assert.equal(created.status, 201);
    let list = await call('GET', '/api/v1/flags?environment=staging');
    assert.deepEqual(list.body.flags[0].stale, []);

    await clock.advance(10 * DAY);
    list = await call('GET', '/api/v1/flags?environment=staging');
    assert.deepEqual(
      list.body.flags[0].stale.map((entry: { reason: string }) => entry.reason),
      ['single_value', 'not_evaluated'],
    );
    const stale = await call('GET', '/api/v1/stale-flags?environment=staging');
    assert.equal(stale.body.staleAfterMs, 10 * DAY);
    assert.equal(stale.body.flags[0].key, 'old-banner');
    assert.equal(stale.body.flags[0].stale[0].since, Date.UTC(2026, 0, 1));

    const metrics = await call('GET', '/metrics');
    assert.match(metrics.body, /cutover_flag_stale\{environment="staging",flag="old-banner",reason="single_value"\} 1/);
    assert.match(
      metrics.body,
      /cutover_flag_stale\{environment="staging",flag="old-banner",reason="not_evaluated"\} 1/,
    );

    // An evaluation reported now clears not_evaluated; the single value stays.
    await call('POST', '/api/v1/sdk/evaluations?environment=staging', {
      counts: [{ flag: 'old-banner', variant: 'on', count: 1 }],
    });
    const after = await call('GET', '/metrics');
    assert.match(after.body, /cutover_flag_stale\{environment="staging",flag="old-banner",reason="not_evaluated"\} 0/);

    const text = await cli(['list', '--env', 'staging'], 'ana');
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /old-banner \*\s+yes\s+100% on.*one value for all since 2026-01-01/);
    const staleText = await cli(['stale', '--env', 'staging'], 'ana');
    assert.match(
      staleText.stdout,
      /old-banner\s+single_value\s+2026-01-01 00:00:00\s+serves on to everyone \(100% rollout\)/,
    );
  });

  it('carries out a scheduled change that fell due while the server was down, once, at the next start', async () => {
    await call('POST', '/api/v1/flags?environment=staging', { flag: boolFlag('checkout'), actor: 'ana' });
    const past = await call('POST', '/api/v1/flags/checkout/schedules?environment=staging', {
      at: new Date(clock.now() - 1000).toISOString(),
      action: { type: 'percent', percentage: 30 },
      actor: 'ana',
    });
    assert.equal(past.status, 400);
    assert.match(past.body.error.message, /not in the future/);

    const at = new Date(clock.now() + 2 * HOUR).toISOString();
    const made = await cli(['schedule', 'checkout', '--at', at, '--percent', '30', '--env', 'staging'], 'ana');
    assert.equal(made.code, 0, made.stderr);
    const id = /scheduled (fs-\S+):/.exec(made.stdout)?.[1];
    assert.ok(id, made.stdout);
    const listed = await cli(['schedules', '--json'], 'ana');
    assert.deepEqual(
      JSON.parse(listed.stdout).schedules.map((s: { id: string; state: string }) => [s.id, s.state]),
      [[id, 'scheduled']],
    );

    await h.server.close();
    await clock.advance(3 * HOUR);
    await h.restart();
    const flag = await call('GET', '/api/v1/flags/checkout?environment=staging');
    assert.equal(flag.body.flag.rollout.percentage, 30);
    assert.equal(flag.body.version, 2);
    const schedule = await call('GET', `/api/v1/flag-schedules/${id}`);
    assert.equal(schedule.body.schedule.state, 'applied');
    assert.equal(schedule.body.schedule.scheduledBy, 'ana');
    // Recorded in the event log (and so notified): made before the restart, applied after it, once.
    assert.deepEqual(
      h.server.controller.store.eventsOf(id).map((event) => event.type),
      ['flag-schedule.created', 'flag-schedule.applied'],
    );
  });

  it('keeps a production change pending until a second person approves it', async () => {
    const proposed = await cli(['set', 'payments', '--percent', '5', '--env', 'production'], 'ana');
    assert.equal(proposed.code, 0, proposed.stderr);
    assert.match(proposed.stdout, /pending approval: change (fc-\S+) to payments in production was not applied/);
    const id = /change (fc-\S+)/.exec(proposed.stdout)![1]!;
    assert.equal((await call('GET', '/api/v1/flags/payments?environment=production')).status, 404);

    const pending = await cli(['pending', '--json'], 'bo');
    assert.deepEqual(
      JSON.parse(pending.stdout).changes.map((c: { id: string; proposedBy: string }) => [c.id, c.proposedBy]),
      [[id, 'ana']],
    );

    const self = await cli(['approve', id], 'ana');
    assert.notEqual(self.code, 0);
    assert.match(self.stderr, /ana proposed flag change .* cannot also approve it/);
    assert.equal((await call('GET', '/api/v1/flags/payments?environment=production')).status, 404);

    const approved = await cli(['approve', id], 'bo');
    assert.equal(approved.code, 0, approved.stderr);
    assert.match(approved.stdout, /approved fc-\S+ \(create of payments in production, proposed by ana\): version 1/);
    const flag = await call('GET', '/api/v1/flags/payments?environment=production');
    assert.equal(flag.body.flag.rollout.percentage, 5);
    assert.equal(flag.body.updatedBy, 'ana');
    const change = await call('GET', `/api/v1/flag-changes/${id}`);
    assert.equal(change.body.change.decidedBy, 'bo');
    assert.equal(change.body.change.decidedAt, clock.now());

    // The kill switch over the API: 202 with the pending change; rejected, nothing changes.
    const patch = await call('PATCH', '/api/v1/flags/payments?environment=production', {
      patch: { enabled: false },
      actor: 'ana',
    });
    assert.equal(patch.status, 202);
    const rejected = await call('POST', `/api/v1/flag-changes/${patch.body.pending.id}/reject`, {
      actor: 'bo',
      reason: 'not now',
    });
    assert.equal(rejected.body.change.state, 'rejected');
    assert.equal((await call('GET', '/api/v1/flags/payments?environment=production')).body.flag.enabled, true);

    // Staging has no approval rule: applied at once.
    const staging = await cli(['disable', 'checkout', '--env', 'staging'], 'ana');
    assert.match(staging.stdout, /disabled checkout \(staging, version 3\)/);
  });
});
