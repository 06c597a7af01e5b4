import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import pino from 'pino';
import { ManualClock } from '../../src/clock/manual-clock.js';
import { EventLog } from '../../src/controller/event-log.js';
import { isCutoverError } from '../../src/core/errors.js';
import { createFlagFeature, type FlagFeature } from '../../src/flags/flag-feature.js';
import { SqliteStore } from '../../src/store/sqlite-store.js';

/**
 * Scheduled flag changes, approvals and stale flags over the real SQLite
 * store, on a ManualClock: a change carried out at its time, one that fell
 * due while the server was down carried out once when it starts again (the
 * store closed and reopened), and changes that wait for a second person.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const silent = pino({ level: 'silent' });

interface Server {
  store: SqliteStore;
  feature: FlagFeature;
  close(): void;
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-flag-hygiene-'));
  dirs.push(dir);
  return dir;
}

/** What `cutover server` builds of the flag feature, on the given clock. */
function open(dir: string, clock: ManualClock, requireApproval: string[] = []): Server {
  const store = SqliteStore.open(dir);
  const events = new EventLog(store, silent, () => clock.now());
  const feature = createFlagFeature(store.connection, {
    environments: ['production', 'staging'],
    clock,
    staleAfterMs: 30 * DAY,
    requireApproval,
    events,
    templates: () => ({}),
    providerFor: () => {
      throw new Error('no provider in this test');
    },
    activeReleaseOf: () => null,
  });
  feature.scheduler.start();
  return {
    store,
    feature,
    close() {
      feature.scheduler.close();
      store.close();
    },
  };
}

const boolFlag = (key: string) => ({
  key,
  enabled: true,
  variants: { on: true, off: false },
  defaultVariant: 'off',
  offVariant: 'off',
});

function code(error: unknown): string | undefined {
  return isCutoverError(error) ? error.code : undefined;
}

describe('scheduled flag changes', () => {
  it('are carried out at their time by the timer, audited and recorded as events', async () => {
    const clock = new ManualClock();
    const server = open(stateDir(), clock);
    const { service, scheduler } = server.feature;
    service.create('production', boolFlag('checkout'), { actor: 'ana' });
    const schedule = scheduler.create('production', 'checkout', {
      at: clock.now() + 2 * HOUR,
      action: { type: 'percent', percentage: 50 },
      actor: 'ana',
    });
    await clock.advance(2 * HOUR - 1);
    assert.equal(service.get('production', 'checkout').flag.rollout, null, 'not before its time');
    await clock.advance(1);
    const flag = service.get('production', 'checkout');
    assert.equal(flag.flag.rollout?.percentage, 50);
    assert.equal(flag.flag.rollout?.variant, 'on');
    const [latest] = service.history('production', 'checkout', 1);
    assert.equal(latest?.actor, `schedule ${schedule.id}`);
    assert.match(latest?.reason ?? '', /^scheduled by ana for 2026-01-01T02:00:00.000Z$/);
    assert.deepEqual(
      server.store.eventsOf(schedule.id).map((event) => event.type),
      ['flag-schedule.created', 'flag-schedule.applied'],
    );
    assert.equal(scheduler.get(schedule.id).state, 'applied');
    assert.equal(scheduler.list(null, false).length, 0);
    server.close();
  });

  it('refuses a time in the past or more than a year ahead, and an unknown variant', () => {
    const clock = new ManualClock();
    const server = open(stateDir(), clock);
    const { service, scheduler } = server.feature;
    service.create('production', boolFlag('checkout'), { actor: 'ana' });
    const request =
      (at: number, variant = 'on') =>
      () =>
        scheduler.create('production', 'checkout', { at, action: { type: 'variant', variant }, actor: 'ana' });
    assert.throws(request(clock.now() - 1), (e) => code(e) === 'BAD_REQUEST' && /not in the future/.test(String(e)));
    assert.throws(request(clock.now() + 366 * DAY), (e) => code(e) === 'BAD_REQUEST' && /year/.test(String(e)));
    assert.throws(
      request(clock.now() + HOUR, 'blue'),
      (e) => code(e) === 'BAD_REQUEST' && /no variant "blue"/.test(String(e)),
    );
    assert.equal(scheduler.list(null, true).length, 0);
    server.close();
  });

  it('a cancelled change never runs', async () => {
    const clock = new ManualClock();
    const server = open(stateDir(), clock);
    const { service, scheduler } = server.feature;
    service.create('production', boolFlag('checkout'), { actor: 'ana' });
    const schedule = scheduler.create('production', 'checkout', {
      at: clock.now() + HOUR,
      action: { type: 'disable' },
      actor: 'ana',
    });
    assert.equal(scheduler.cancel(schedule.id, 'bo').finishedBy, 'bo');
    await clock.advance(2 * HOUR);
    assert.equal(service.get('production', 'checkout').flag.enabled, true);
    assert.throws(
      () => scheduler.cancel(schedule.id, 'bo'),
      (e) => code(e) === 'INVALID_STATE',
    );
    server.close();
  });

  it('survive a restart: one due while the server was down runs once at start, a later one at its time', async () => {
    const dir = stateDir();
    const clock = new ManualClock();
    let server = open(dir, clock);
    server.feature.service.create('production', boolFlag('checkout'), { actor: 'ana' });
    const due = server.feature.scheduler.create('production', 'checkout', {
      at: clock.now() + HOUR,
      action: { type: 'percent', percentage: 25 },
      actor: 'ana',
    });
    const later = server.feature.scheduler.create('production', 'checkout', {
      at: clock.now() + 40 * DAY, // beyond any single timer: the scheduler wakes hourly and checks again
      action: { type: 'disable' },
      actor: 'ana',
    });
    server.close();

    // Down for three hours: the first change fell due meanwhile.
    await clock.advance(3 * HOUR);
    server = open(dir, clock);
    const { service, scheduler } = server.feature;
    assert.equal(service.get('production', 'checkout').flag.rollout?.percentage, 25);
    assert.equal(scheduler.get(due.id).state, 'applied');
    assert.equal(scheduler.get(due.id).finishedAt, clock.now());
    const version = service.get('production', 'checkout').version;

    // Restarted again: the applied one does not run a second time.
    server.close();
    server = open(dir, clock);
    assert.equal(server.feature.service.get('production', 'checkout').version, version);
    assert.equal(server.store.eventsOf(due.id).filter((e) => e.type === 'flag-schedule.applied').length, 1);

    await clock.advance(40 * DAY);
    assert.equal(server.feature.service.get('production', 'checkout').flag.enabled, false);
    assert.equal(server.feature.scheduler.get(later.id).state, 'applied');
    server.close();
  });

  it('a change whose flag was deleted meanwhile fails, recorded, and does not stop the others', async () => {
    const clock = new ManualClock();
    const server = open(stateDir(), clock);
    const { service, scheduler } = server.feature;
    service.create('production', boolFlag('gone'), { actor: 'ana' });
    service.create('production', boolFlag('kept'), { actor: 'ana' });
    const doomed = scheduler.create('production', 'gone', {
      at: clock.now() + HOUR,
      action: { type: 'enable' },
      actor: 'ana',
    });
    const fine = scheduler.create('production', 'kept', {
      at: clock.now() + HOUR,
      action: { type: 'disable' },
      actor: 'ana',
    });
    service.remove('production', 'gone', { actor: 'bo' });
    await clock.advance(HOUR);
    assert.equal(scheduler.get(doomed.id).state, 'failed');
    assert.match(scheduler.get(doomed.id).error ?? '', /deleted/);
    assert.equal(scheduler.get(fine.id).state, 'applied');
    assert.deepEqual(
      server.store.eventsOf(doomed.id).map((e) => e.type),
      ['flag-schedule.created', 'flag-schedule.failed'],
    );
    server.close();
  });
});

describe('flag changes that need an approval', () => {
  it('wait pending; the proposer cannot approve; a second person applies it, recorded with who approved', () => {
    const clock = new ManualClock();
    const server = open(stateDir(), clock, ['production']);
    const { service, approvals } = server.feature;
    assert.equal(approvals.requires('production'), true);
    assert.equal(approvals.requires('staging'), false);
    service.create('production', boolFlag('checkout'), { actor: 'seed' });
    const pending = approvals.propose(
      'production',
      'checkout',
      { type: 'patch', patch: { enabled: false } },
      { actor: 'ana', reason: 'incident 42' },
    );
    assert.equal(pending.state, 'pending');
    assert.equal(service.get('production', 'checkout').flag.enabled, true, 'nothing applied yet');
    assert.deepEqual(
      approvals.list(null, false).map((c) => c.id),
      [pending.id],
    );

    assert.throws(
      () => approvals.approve(pending.id, 'ana'),
      (e) => code(e) === 'FORBIDDEN',
    );
    assert.equal(approvals.get(pending.id).state, 'pending', 'a refused approval changes nothing');

    const approved = approvals.approve(pending.id, 'bo');
    assert.equal(approved.state, 'approved');
    assert.equal(approved.decidedBy, 'bo');
    assert.equal(approved.decidedAt, clock.now());
    const stored = service.get('production', 'checkout');
    assert.equal(stored.flag.enabled, false);
    assert.equal(approved.result?.version, stored.version);
    const [entry] = service.history('production', 'checkout', 1);
    assert.equal(entry?.actor, 'ana');
    assert.equal(entry?.reason, `incident 42; approved by bo (${pending.id})`);
    const events = server.store.eventsOf(pending.id);
    assert.deepEqual(
      events.map((e) => e.type),
      ['flag-change.proposed', 'flag-change.approved'],
    );
    assert.match(events[1]!.message, /approved by bo$/);
    assert.throws(
      () => approvals.approve(pending.id, 'cy'),
      (e) => code(e) === 'INVALID_STATE',
    );
    server.close();
  });

  it('are checked when proposed, may be rejected (by the proposer too), and survive a restart', () => {
    const dir = stateDir();
    const clock = new ManualClock();
    let server = open(dir, clock, ['production']);
    server.feature.service.create('production', boolFlag('checkout'), { actor: 'seed' });
    assert.throws(
      () =>
        server.feature.approvals.propose(
          'production',
          'checkout',
          { type: 'patch', patch: { defaultVariant: 'nope' } },
          { actor: 'ana' },
        ),
      (e) => code(e) === 'BAD_REQUEST',
    );
    assert.throws(
      () => server.feature.approvals.propose('production', 'missing', { type: 'delete' }, { actor: 'ana' }),
      (e) => code(e) === 'FLAG_NOT_FOUND',
    );
    const withdrawn = server.feature.approvals.propose('production', 'checkout', { type: 'delete' }, { actor: 'ana' });
    const kept = server.feature.approvals.propose(
      'production',
      'checkout',
      { type: 'patch', patch: { description: 'x' } },
      { actor: 'ana' },
    );
    assert.equal(server.feature.approvals.reject(withdrawn.id, 'ana', 'wrong flag').state, 'rejected');
    server.close();

    server = open(dir, clock, ['production']);
    assert.deepEqual(
      server.feature.approvals.list('production', false).map((c) => c.id),
      [kept.id],
    );
    assert.equal(server.feature.approvals.list(null, true).length, 2);
    assert.equal(server.feature.approvals.approve(kept.id, 'bo').state, 'approved');
    assert.equal(server.feature.service.get('production', 'checkout').flag.description, 'x');
    server.close();
  });

  it('a scheduled change is approved when scheduled and then fires on its own', async () => {
    const clock = new ManualClock();
    const server = open(stateDir(), clock, ['production']);
    const { service, approvals, scheduler } = server.feature;
    service.create('production', boolFlag('checkout'), { actor: 'seed' });
    const pending = approvals.propose(
      'production',
      'checkout',
      { type: 'schedule', at: clock.now() + DAY, action: { type: 'percent', percentage: 10 } },
      { actor: 'ana' },
    );
    assert.equal(scheduler.list(null, false).length, 0, 'not scheduled before the approval');
    const approved = approvals.approve(pending.id, 'bo');
    const schedule = scheduler.get(approved.result!.scheduleId!);
    assert.equal(schedule.scheduledBy, 'ana');
    assert.equal(schedule.approvedBy, 'bo');
    await clock.advance(DAY);
    assert.equal(service.get('production', 'checkout').flag.rollout?.percentage, 10);
    assert.match(service.history('production', 'checkout', 1)[0]?.reason ?? '', /approved by bo$/);
    server.close();
  });
});

describe('stale flags', () => {
  it('are reported after flags.stale_after of one value or of no evaluation, on the injected clock', async () => {
    const clock = new ManualClock();
    const dir = stateDir();
    const server = open(dir, clock);
    const { service, hygiene } = server.feature;
    service.create(
      'production',
      { ...boolFlag('constant'), rollout: { percentage: 100, variant: 'on' } },
      { actor: 'ana' },
    );
    service.create(
      'production',
      { ...boolFlag('partial'), rollout: { percentage: 50, variant: 'on' } },
      { actor: 'ana' },
    );
    await clock.advance(20 * DAY);
    service.recordEvaluations('production', [
      { flag: 'constant', variant: 'on', count: 5 },
      { flag: 'partial', variant: 'off', count: 5 },
    ]);
    assert.deepEqual(hygiene.stale('production'), []);
    await clock.advance(10 * DAY);
    const start = Date.UTC(2026, 0, 1);
    assert.deepEqual(hygiene.stale('production'), [
      {
        environment: 'production',
        key: 'constant',
        stale: [{ reason: 'single_value', since: start, detail: 'serves on to everyone (100% rollout)' }],
      },
    ]);
    // Evaluations stop for 30 days: both flags are stale for it, and the counts survive a restart.
    await clock.advance(20 * DAY);
    server.close();
    const reopened = open(dir, clock);
    const stale = reopened.feature.hygiene.stale('production');
    assert.deepEqual(
      stale.map((flag) => [flag.key, flag.stale.map((entry) => entry.reason)]),
      [
        ['constant', ['single_value', 'not_evaluated']],
        ['partial', ['not_evaluated']],
      ],
    );
    assert.equal(stale[1]!.stale[0]!.since, start + 20 * DAY);
    reopened.close();
  });
});
