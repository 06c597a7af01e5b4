import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry, FlagDetail, FlagRollout } from '../../src/cli/commands/flag-api-answers.js';
import { runCli } from '../support/cli-process.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';

// `cutover flags rollout` as a release manager runs it: steps with pauses,
// followed line by line to the end; a failing analysis brings the flag back
// to where it was and the command says why and exits non-zero.
describe('cutover flags rollout against a real server', () => {
  let harness: Harness;
  const cli = (...args: string[]) =>
    runCli(['flags', ...args], {
      cwd: harness.dir,
      env: { CUTOVER_URL: harness.server.adminUrl, CUTOVER_TOKEN: harness.server.token, CUTOVER_ACTOR: 'rita' },
    });
  const stored = (key: string): Promise<FlagDetail> =>
    harness.client.request<FlagDetail>('GET', `/api/v1/flags/${key}`);
  const createAt = async (key: string, percent: string): Promise<void> => {
    const created = await cli('set', key, '--percent', percent);
    assert.equal(created.code, 0, created.stderr);
  };

  before(async () => {
    // The command provider's value for `exit 1` is { exitCode: 1, ... } (src/analysis/command-provider.ts).
    harness = await startHarness({
      topLevelYaml: `analysis:
  always-fails:
    metrics:
      - name: check
        provider: { command: "exit 1" }
        interval: 100ms
        failure_condition: result.exitCode != 0
`,
    });
  });

  after(async () => {
    await harness.close();
  });

  it('follows a rollout through its steps to success, printing each event as it happens', async () => {
    await createAt('new-checkout', '5');
    const result = await cli('rollout', 'new-checkout', '--steps', '10,100', '--pause', '300ms');
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^rollout fr-\S+ of new-checkout: steps 10% → 100%, pause 300ms\n/);
    const events = result.stdout.split('\n').filter((line) => /^\[\s*[\d.]+ m?s\] /.test(line));
    assert.ok(
      events.some((line) => /step 1 of 2: new-checkout on for 10%/.test(line)),
      result.stdout,
    );
    assert.ok(
      events.some((line) => /step 2 of 2: new-checkout on for 100%/.test(line)),
      result.stdout,
    );
    assert.ok(
      events.findIndex((line) => /step 1 of 2/.test(line)) < events.findIndex((line) => /step 2 of 2/.test(line)),
    );
    assert.match(result.stdout, /done: rollout fr-\S+ succeeded; new-checkout is at 100%/);

    const { flag, activeRollout } = await stored('new-checkout');
    assert.deepEqual(flag.rollout, { percentage: 100, stickiness: 'userId', variant: 'on' });
    assert.equal(activeRollout, null);
  });

  it('a failing analysis ends the rollout failed: the reason is printed, the exit is non-zero, the flag is back at its percentage', async () => {
    await createAt('risky', '5');
    const result = await cli('rollout', 'risky', '--steps', '20,100', '--pause', '5s', '--analysis', 'always-fails');
    assert.equal(result.code, 3, result.stdout);
    assert.match(result.stdout, /step 1 of 2: risky on for 20%/);
    assert.doesNotMatch(result.stdout, /step 2 of 2/);
    assert.match(result.stderr, /failed: rollout fr-\S+ of risky: analysis failed at 20%: .*always-fails/);
    assert.match(result.stderr, /hint: risky is back at rollout 5% on, as before the rollout/);

    const { flag } = await stored('risky');
    assert.equal(flag.rollout?.percentage, 5);
    const history = await cli('history', 'risky');
    assert.match(history.stdout, /rollout 20% → 5%/);
    assert.match(history.stdout, /rollout 5% → 20%/);
  });

  it('--json prints the rollout and its events, with the same exit code', async () => {
    await createAt('quiet', '0');
    const result = await cli('rollout', 'quiet', '--steps', '50', '--pause', '100ms', '--json');
    assert.equal(result.code, 0, result.stderr);
    const answer = JSON.parse(result.stdout) as { rollout: FlagRollout; events: { type: string }[] };
    assert.equal(answer.rollout.phase, 'succeeded');
    assert.deepEqual(answer.rollout.steps, [50]);
    assert.ok(
      answer.events.some((event) => event.type === 'flag-rollout.succeeded'),
      JSON.stringify(answer.events),
    );
  });

  it('--detach returns with the id, and --abort stops the rollout', async () => {
    await createAt('slow', '1');
    const started = await cli('rollout', 'slow', '--steps', '10,100', '--pause', '1m', '--detach', '--json');
    assert.equal(started.code, 0, started.stderr);
    const { rollout } = JSON.parse(started.stdout) as { rollout: FlagRollout };
    assert.equal(rollout.phase, 'running');
    assert.equal((await stored('slow')).activeRollout?.id, rollout.id);

    const aborted = await cli('rollout', '--abort', rollout.id);
    assert.equal(aborted.code, 0, aborted.stderr);
    assert.match(aborted.stdout, new RegExp(`rollout ${rollout.id} of slow: aborted \\(aborted by rita`));
    const after = await stored('slow');
    assert.equal(after.activeRollout, null);
    assert.equal(after.flag.rollout?.percentage, 1);

    const again = await cli('rollout', '--abort', rollout.id);
    assert.equal(again.code, 6);
    assert.match(again.stderr, /has already ended \(aborted\)/);
  });

  it('bad --steps and --pause are refused before anything starts', async () => {
    await createAt('careful', '3');
    const historyBefore = await harness.client.request<{ entries: AuditEntry[] }>(
      'GET',
      '/api/v1/flags/careful/history',
    );
    const [decreasing, over, zero, pause, missing] = await Promise.all([
      cli('rollout', 'careful', '--steps', '50,10', '--pause', '1s'),
      cli('rollout', 'careful', '--steps', '10,150', '--pause', '1s'),
      cli('rollout', 'careful', '--steps', '0,10', '--pause', '1s'),
      cli('rollout', 'careful', '--steps', '10,100', '--pause', '5 minutes'),
      cli('rollout', 'careful', '--steps', '10,100'),
    ]);
    for (const result of [decreasing, over, zero, pause, missing]) assert.equal(result.code, 2, result.stdout);
    assert.match(decreasing.stderr, /--steps "50,10": the steps must increase, but 10 follows 50/);
    assert.match(over.stderr, /--steps "10,150": "150" is not a percentage from 0 to 100/);
    assert.match(zero.stderr, /a step must be above 0%/);
    assert.match(pause.stderr, /--pause "5 minutes": expected a duration like 500ms, 1s/);
    assert.match(missing.stderr, /--pause is required/);

    const after = await stored('careful');
    assert.equal(after.activeRollout, null);
    assert.equal(after.flag.rollout?.percentage, 3);
    assert.deepEqual(await harness.client.request('GET', '/api/v1/flags/careful/history'), historyBefore);
  });
});
