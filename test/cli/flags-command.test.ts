import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditEntry, FlagDetail, FlagList } from '../../src/cli/commands/flag-api-answers.js';
import type { Evaluation } from '../../src/flags/index.js';
import { runCli } from '../support/cli-process.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';

// An operator's session with `cutover flags`: create a flag at 10 %, look at
// it, raise it to 50 %, pull the kill switch, target staff with a rule, make
// mistakes that must change nothing, and delete it. One real server, the real
// CLI as a child process.
describe('cutover flags against a real server', () => {
  let harness: Harness;
  const cli = (args: string[], actor = 'alice') =>
    runCli(['flags', ...args], {
      cwd: harness.dir,
      env: { CUTOVER_URL: harness.server.adminUrl, CUTOVER_TOKEN: harness.server.token, CUTOVER_ACTOR: actor },
    });
  /** The flag as the API has it: what the assertions check the CLI's effect against. */
  const stored = (key: string, environment = 'production'): Promise<FlagDetail> =>
    harness.client.request<FlagDetail>('GET', `/api/v1/flags/${key}?environment=${environment}`);
  const evaluate = (key: string, context: Record<string, unknown>) =>
    harness.client.request<Evaluation>('POST', `/api/v1/flags/${key}/evaluate`, { context });

  before(async () => {
    harness = await startHarness();
  });

  after(async () => {
    await harness.close();
  });

  it('set creates a boolean flag at 10%; list and get show it as text and JSON', async () => {
    const created = await cli(['set', 'new-checkout', '--percent', '10', '--description', 'The one-page checkout']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(
      created.stdout,
      /created new-checkout \(production, version 1\): created: enabled, rollout 10% on, rules: 0/,
    );

    // --config instead of CUTOVER_URL/CUTOVER_TOKEN: the admin address from the file, the token from its state directory.
    const [list, listText] = await Promise.all([
      runCli(['flags', 'list', '--config', harness.configFile], { cwd: harness.dir }),
      cli(['list', '--json']),
    ]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /KEY\s+ENABLED\s+ROLLOUT\s+DEFAULT\/OFF\s+VERSION\s+UPDATED/);
    assert.match(list.stdout, /new-checkout\s+yes\s+10% on\s+off\/off\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d by alice/);

    const listJson = JSON.parse(listText.stdout) as FlagList;
    assert.equal(listJson.environment, 'production');
    assert.deepEqual(
      listJson.flags.map((entry) => entry.flag),
      [
        {
          key: 'new-checkout',
          description: 'The one-page checkout',
          enabled: true,
          variants: { on: true, off: false },
          defaultVariant: 'off',
          offVariant: 'off',
          rules: [],
          rollout: { percentage: 10, stickiness: 'userId', variant: 'on' },
        },
      ],
    );

    // What SDKs reported, through the SDK route, shows in `get`: counts per variant and the errors.
    await harness.client.request('POST', '/api/v1/sdk/evaluations', {
      sdk: 'test',
      counts: [
        { flag: 'new-checkout', variant: 'on', count: 3 },
        { flag: 'new-checkout', variant: 'off', count: 27 },
        { flag: 'new-checkout', variant: null, count: 2 },
      ],
    });
    const get = await cli(['get', 'new-checkout']);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /new-checkout\s+\(production, version 1\)/);
    assert.match(get.stdout, /The one-page checkout/);
    assert.match(get.stdout, /variants:\s+on = true, off = false/);
    assert.match(get.stdout, /rollout:\s+10% of users get on, sticky by userId/);
    assert.match(get.stdout, /updated:\s+.* by alice/);
    assert.match(
      get.stdout,
      /evaluations: 32 reported by SDKs\n\s+off\s+27\s+84\.4%.*\n\s+on\s+3\s+9\.4%.*\n\s+errors\s+2\s+6\.3%/,
    );
    assert.match(get.stdout, /rollout in progress: none/);
    const getJson = await cli(['get', 'new-checkout', '--json']);
    assert.equal(getJson.code, 0, getJson.stderr);
    const detail = JSON.parse(getJson.stdout) as FlagDetail;
    assert.equal(detail.version, 1);
    assert.deepEqual(
      detail.evaluations?.map(({ variant, count }) => ({ variant, count })).sort((a, b) => b.count - a.count),
      [
        { variant: 'off', count: 27 },
        { variant: 'on', count: 3 },
        { variant: null, count: 2 },
      ],
    );
    assert.equal(detail.activeRollout, null);
  });

  it('set --percent 50 raises the rollout; history shows both changes with who made them', async () => {
    const raised = await cli(['set', 'new-checkout', '--percent', '50', '--reason', 'no errors at 10%'], 'bob');
    assert.equal(raised.code, 0, raised.stderr);
    assert.match(raised.stdout, /updated new-checkout \(production, version 2\): rollout 10% → 50%/);
    assert.deepEqual((await stored('new-checkout')).flag.rollout, {
      percentage: 50,
      stickiness: 'userId',
      variant: 'on',
    });

    const history = await cli(['history', 'new-checkout']);
    assert.equal(history.code, 0, history.stderr);
    const lines = history.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /WHEN\s+WHO\s+ACTION\s+VERSION\s+CHANGE\s+REASON/);
    assert.match(lines[1] ?? '', /bob\s+update\s+v2\s+rollout 10% → 50%\s+no errors at 10%/);
    assert.match(lines[2] ?? '', /alice\s+create\s+v1\s+created: enabled, rollout 10% on, rules: 0/);

    const { entries } = JSON.parse((await cli(['history', 'new-checkout', '--limit', '1', '--json'])).stdout) as {
      entries: AuditEntry[];
    };
    assert.equal(entries.length, 1);
    assert.equal(entries[0]?.actor, 'bob');
    assert.equal(entries[0]?.before?.rollout?.percentage, 10);
    assert.equal(entries[0]?.after?.rollout?.percentage, 50);
  });

  it('disable is the kill switch and enable undoes it', async () => {
    const disabled = await cli(['disable', 'new-checkout', '--reason', 'checkout errors']);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /disabled new-checkout \(production, version 3\): every evaluation answers "off"/);
    assert.equal((await stored('new-checkout')).flag.enabled, false);
    assert.equal((await evaluate('new-checkout', { userId: 'u-1' })).reason, 'DISABLED');
    assert.match((await cli(['list'])).stdout, /new-checkout\s+no\s+50% on/);

    const enabled = await cli(['enable', 'new-checkout', '--json']);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal((JSON.parse(enabled.stdout) as FlagDetail).flag.enabled, true);
    assert.notEqual((await evaluate('new-checkout', { userId: 'u-1' })).reason, 'DISABLED');
    const history = (await cli(['history', 'new-checkout', '--limit', '2'])).stdout;
    assert.match(history, /update\s+v4\s+enabled false → true/);
    assert.match(history, /update\s+v3\s+enabled true → false\s+checkout errors/);
  });

  it('--rule shorthand sets the rules in order, and they target as written', async () => {
    const set = await cli([
      'set',
      'new-checkout',
      '--rule',
      'staff: email ends_with @example.com -> on',
      '--rule',
      'country in SE,NO and appVersion semver_gt 2.0.0 -> off',
      '--rule',
      '{"constraints":[{"operator":"num_gte","attribute":"seats","value":10}],"variant":"on"}',
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /version 5\): rules 0 → 3/);
    const { flag } = await stored('new-checkout');
    assert.deepEqual(flag.rules, [
      {
        name: 'staff',
        constraints: [{ operator: 'ends_with', attribute: 'email', value: '@example.com', inverted: false }],
        variant: 'on',
      },
      {
        constraints: [
          { operator: 'in', attribute: 'country', values: ['SE', 'NO'], inverted: false },
          { operator: 'semver_gt', attribute: 'appVersion', value: '2.0.0', inverted: false },
        ],
        variant: 'off',
      },
      { constraints: [{ operator: 'num_gte', attribute: 'seats', value: 10, inverted: false }], variant: 'on' },
    ]);
    assert.deepEqual(flag.rollout, { percentage: 50, stickiness: 'userId', variant: 'on' }, 'the rollout is kept');
    const staff = await evaluate('new-checkout', {
      userId: 'u-9',
      email: 'ann@example.com',
      country: 'SE',
      appVersion: '3.0.0',
    });
    assert.deepEqual([staff.variant, staff.reason, staff.ruleIndex], ['on', 'TARGETING_MATCH', 0]);
    const nordic = await evaluate('new-checkout', {
      userId: 'u-9',
      email: 'ann@gmail.com',
      country: 'NO',
      appVersion: '2.0.1',
    });
    assert.deepEqual([nordic.variant, nordic.ruleIndex], ['off', 1]);

    const get = (await cli(['get', 'new-checkout'])).stdout;
    assert.match(
      get,
      /1\. staff: email ends_with @example\.com -> on\n\s+2\. country in SE,NO and appVersion semver_gt 2\.0\.0 -> off\n\s+3\. seats num_gte 10 -> on/,
    );
  });

  it('a bad --percent or a bad rule is a clear error, exits non-zero, and changes nothing', async () => {
    const before = await stored('new-checkout');
    const historyBefore = await harness.client.request('GET', '/api/v1/flags/new-checkout/history');

    // None of these may change the flag, so they run side by side.
    const [percent, operator, variant, json, nothing] = await Promise.all([
      cli(['set', 'new-checkout', '--percent', '110']),
      cli(['set', 'new-checkout', '--percent', '20', '--rule', 'email endswith @example.com -> on']),
      // Well-formed, but the server finds the variant missing: its issue names the path.
      cli(['set', 'new-checkout', '--rule', 'always -> blue']),
      cli(['set', 'new-checkout', '--rule', 'seats num_gte ten -> on', '--json']),
      cli(['set', 'new-checkout']),
    ]);
    assert.equal(percent.code, 2);
    assert.match(
      percent.stderr,
      /BAD_REQUEST: --percent: expected a percentage from 0 to 100 in steps of 0\.01, got "110"/,
    );

    assert.equal(operator.code, 2);
    assert.match(
      operator.stderr,
      /--rule "email endswith @example.com -> on": unknown operator "endswith" at column 7 \(did you mean ends_with\?\); known operators: equals, starts_with, ends_with, contains, in, not_in, num_eq/,
    );
    assert.match(operator.stderr, /hint: See `cutover flags set --help`/);

    assert.equal(variant.code, 2);
    assert.match(variant.stderr, /rules\[0\]\.variant: expected one of the variants on, off, got "blue"/);

    assert.equal(json.code, 2);
    assert.equal((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'BAD_REQUEST');

    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /nothing to change on flag new-checkout/);

    const after = await stored('new-checkout');
    assert.equal(after.version, before.version);
    assert.deepEqual(after.flag, before.flag);
    assert.deepEqual(await harness.client.request('GET', '/api/v1/flags/new-checkout/history'), historyBefore);
  });

  it('a change made by someone else between the read and the write is refused with FLAG_CONFLICT', async () => {
    // A real interleaving: a pass-through proxy in front of the server lets
    // someone else's PATCH land just before the CLI's PUT.
    const target = new URL(harness.server.adminUrl);
    const proxy = http.createServer((request, response) => {
      const forward = async (): Promise<void> => {
        if (request.method === 'PUT')
          await harness.client.request('PATCH', '/api/v1/flags/new-checkout', {
            patch: { description: 'changed meanwhile' },
            actor: 'carol',
          });
        const upstream = http.request(
          {
            host: target.hostname,
            port: target.port,
            path: request.url,
            method: request.method,
            headers: request.headers,
          },
          (answer) => {
            response.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(response);
          },
        );
        request.pipe(upstream);
      };
      forward().catch((error: Error) => response.destroy(error));
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const before = await stored('new-checkout');
      const result = await runCli(['flags', 'set', 'new-checkout', '--percent', '75'], {
        cwd: harness.dir,
        env: {
          CUTOVER_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
          CUTOVER_TOKEN: harness.server.token,
        },
      });
      assert.equal(result.code, 6);
      assert.match(
        result.stderr,
        new RegExp(
          `FLAG_CONFLICT: flag new-checkout changed after it was read \\(version ${before.version}\\): this change was not applied`,
        ),
      );
      const after = await stored('new-checkout');
      assert.equal(after.flag.description, 'changed meanwhile');
      assert.equal(after.flag.rollout?.percentage, 50, 'the refused change did not land');
      assert.equal(after.updatedBy, 'carol');
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('set --file creates a flag from JSON in another environment; --env keeps environments apart', async () => {
    const file = path.join(harness.dir, 'theme.json');
    fs.writeFileSync(
      file,
      JSON.stringify({
        description: 'Checkout colours',
        enabled: true,
        variants: { classic: 'classic', dark: 'dark' },
        defaultVariant: 'classic',
        offVariant: 'classic',
        rollout: { percentage: 5, variant: 'dark' },
      }),
    );
    const created = await cli(['set', 'checkout-theme', '--file', file, '--env', 'staging', '--percent', '25']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /created checkout-theme \(staging, version 1\)/);
    const [stagingList, productionList, missing, unknownEnv] = await Promise.all([
      cli(['list', '--env', 'staging', '--json']),
      cli(['list', '--json']),
      cli(['get', 'checkout-theme']),
      cli(['list', '--env', 'qa']),
    ]);
    const staging = JSON.parse(stagingList.stdout) as FlagList;
    assert.deepEqual(
      staging.flags.map((entry) => [entry.flag.key, entry.flag.rollout]),
      [['checkout-theme', { percentage: 25, stickiness: 'userId', variant: 'dark' }]],
    );
    const production = JSON.parse(productionList.stdout) as FlagList;
    assert.ok(!production.flags.some((entry) => entry.flag.key === 'checkout-theme'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /FLAG_NOT_FOUND/);
    assert.equal(unknownEnv.code, 2);
    assert.match(unknownEnv.stderr, /ENVIRONMENT_NOT_FOUND/);
  });

  it('delete refuses without --yes when there is no terminal, and deletes with it', async () => {
    const refused = await cli(['delete', 'checkout-theme', '--env', 'staging']);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /refusing to delete flag checkout-theme without --yes: there is no terminal to confirm on/,
    );
    assert.equal((await stored('checkout-theme', 'staging')).flag.key, 'checkout-theme');

    const deleted = await cli(['delete', 'checkout-theme', '--env', 'staging', '--yes', '--reason', 'experiment over']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /deleted checkout-theme \(version 1\)/);
    const gone = await cli(['get', 'checkout-theme', '--env', 'staging']);
    assert.equal(gone.code, 2);
    assert.match(gone.stderr, /FLAG_NOT_FOUND/);
    const history = await cli(['history', 'checkout-theme', '--env', 'staging']);
    assert.match(history.stdout, /alice\s+delete\s+v1\s+deleted\s+experiment over/);
  });
});
