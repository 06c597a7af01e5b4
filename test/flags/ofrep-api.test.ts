import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { evaluateFlag } from '../../src/flags/evaluate.js';
import { parseFlag } from '../../src/flags/flag-schema.js';
import { MAX_CONTEXT_KEYS } from '../../src/flags/ofrep-answers.js';
import { runCli } from '../support/cli-process.js';
import { startHarness, type Harness } from '../support/cutover-harness.js';
import { eventually } from '../support/eventually.js';
import { admin, adminCall, boolFlag } from '../sdk/flag-admin.js';

/**
 * OFREP on a real flag server, as raw HTTP (what a provider in any language
 * sends), and client-side tokens through the real CLI: the spec's shapes and
 * status codes, ETag / If-None-Match, both credential headers, the limits,
 * CORS for the configured origin only, a client token that sees values of
 * client-visible flags and nothing else, and the counts OFREP feeds.
 */
const APP_ORIGIN = 'http://localhost:5173';
const FLAGS_YAML = `flags:
  environments: [production, staging]
  client:
    allowed_origins: [${APP_ORIGIN}]
`;

interface Reply {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

describe('OFREP on the flag server', { timeout: 120_000 }, () => {
  let harness: Harness;
  let clientToken: string;
  let clientTokenId: string;

  const ofrep = async (
    path: string,
    options: {
      token?: string | null;
      apiKey?: string;
      body?: unknown;
      raw?: string;
      headers?: Record<string, string>;
    } = {},
  ): Promise<Reply> => {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    const token = options.token === undefined ? harness.server.sdkToken : options.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    if (options.apiKey !== undefined) headers['x-api-key'] = options.apiKey;
    const response = await fetch(`${harness.server.adminUrl}${path}`, {
      method: 'POST',
      headers,
      body: options.raw ?? JSON.stringify(options.body ?? { context: {} }),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text === '' ? null : JSON.parse(text) };
  };
  const cli = (args: string[]) =>
    runCli(['flags', 'tokens', ...args], {
      cwd: harness.dir,
      env: { CUTOVER_URL: harness.server.adminUrl, CUTOVER_TOKEN: harness.server.token, CUTOVER_ACTOR: 'alice' },
    });

  before(async () => {
    harness = await startHarness({ instances: 1, topLevelYaml: FLAGS_YAML });
    await admin(harness, 'POST', '/api/v1/flags', {
      flag: boolFlag('static-on', { defaultVariant: 'on', clientVisible: true }),
    });
    await admin(harness, 'POST', '/api/v1/flags', {
      flag: boolFlag('half', { rollout: { percentage: 50, variant: 'on', stickiness: 'userId' }, clientVisible: true }),
    });
    await admin(harness, 'PUT', '/api/v1/segments/staff', {
      constraints: [{ operator: 'ends_with', attribute: 'email', value: '@example.com' }],
    });
    await admin(harness, 'POST', '/api/v1/flags', {
      flag: boolFlag('internal-tool', {
        rules: [{ name: 'staff', constraints: [{ operator: 'in_segment', segment: 'staff' }], variant: 'on' }],
      }),
    });
    await admin(harness, 'POST', '/api/v1/flags?environment=staging', {
      flag: boolFlag('staging-only', { clientVisible: true }),
    });
  });
  after(async () => {
    await harness?.close();
  });

  describe('single evaluation', () => {
    it('answers key, value, variant, reason and metadata (200)', async () => {
      const reply = await ofrep('/ofrep/v1/evaluate/flags/internal-tool', {
        body: { context: { targetingKey: 'u1', email: 'ana@example.com' } },
      });
      assert.equal(reply.status, 200);
      assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
      assert.deepEqual(reply.body, {
        key: 'internal-tool',
        value: true,
        variant: 'on',
        reason: 'TARGETING_MATCH',
        metadata: { environment: 'production', flagVersion: 1, ruleIndex: 0 },
      });
    });

    it('says STATIC for a flag with no rules and no rollout, DEFAULT when rules did not match', async () => {
      assert.equal((await ofrep('/ofrep/v1/evaluate/flags/static-on')).body.reason, 'STATIC');
      const other = await ofrep('/ofrep/v1/evaluate/flags/internal-tool', { body: { context: { email: 'x@y.z' } } });
      assert.deepEqual([other.body.value, other.body.reason], [false, 'DEFAULT']);
    });

    it('puts targetingKey in the bucket the SDK puts the same userId in', async () => {
      const flag = parseFlag(boolFlag('half', { rollout: { percentage: 50, variant: 'on', stickiness: 'userId' } }));
      const seen = new Set<unknown>();
      for (let i = 0; i < 20; i++) {
        const key = `user-${i}`;
        const reply = await ofrep('/ofrep/v1/evaluate/flags/half', { body: { context: { targetingKey: key } } });
        const sdk = evaluateFlag(flag, { userId: key });
        assert.deepEqual([reply.body.value, reply.body.reason], [sdk.value, sdk.reason], key);
        seen.add(reply.body.value);
      }
      assert.equal(seen.size, 2, 'a 50 % rollout puts some of 20 users in and some out');
    });

    it('takes the token as X-API-Key as well, and the admin token too', async () => {
      assert.equal(
        (await ofrep('/ofrep/v1/evaluate/flags/static-on', { token: null, apiKey: harness.server.sdkToken })).status,
        200,
      );
      assert.equal((await ofrep('/ofrep/v1/evaluate/flags/static-on', { token: harness.server.token })).status, 200);
    });

    it('404 FLAG_NOT_FOUND for an unknown flag', async () => {
      const reply = await ofrep('/ofrep/v1/evaluate/flags/nope');
      assert.equal(reply.status, 404);
      assert.deepEqual([reply.body.key, reply.body.errorCode], ['nope', 'FLAG_NOT_FOUND']);
    });

    it('400 for a context it cannot take: not an object, too many keys, a bad targetingKey, bad JSON, too big', async () => {
      const notObject = await ofrep('/ofrep/v1/evaluate/flags/half', { body: { context: [1, 2] } });
      assert.deepEqual(
        [notObject.status, notObject.body.key, notObject.body.errorCode],
        [400, 'half', 'INVALID_CONTEXT'],
      );
      const wide = Object.fromEntries(Array.from({ length: MAX_CONTEXT_KEYS + 1 }, (_, i) => [`k${i}`, i]));
      const tooWide = await ofrep('/ofrep/v1/evaluate/flags/half', { body: { context: wide } });
      assert.deepEqual([tooWide.status, tooWide.body.errorCode], [400, 'INVALID_CONTEXT']);
      assert.match(tooWide.body.errorDetails, /at most 100/);
      const numericKey = await ofrep('/ofrep/v1/evaluate/flags/half', { body: { context: { targetingKey: 42 } } });
      assert.deepEqual([numericKey.status, numericKey.body.errorCode], [400, 'TARGETING_KEY_MISSING']);
      const badJson = await ofrep('/ofrep/v1/evaluate/flags/half', { raw: '{"context":' });
      assert.deepEqual([badJson.status, badJson.body.key, badJson.body.errorCode], [400, 'half', 'INVALID_CONTEXT']);
      const huge = await ofrep('/ofrep/v1/evaluate/flags/half', { body: { context: { blob: 'x'.repeat(70_000) } } });
      assert.deepEqual([huge.status, huge.body.errorCode], [400, 'INVALID_CONTEXT']);
      assert.match(huge.body.errorDetails, /over 65536 bytes/);
    });

    it('401 without a token or with a wrong one', async () => {
      assert.equal((await ofrep('/ofrep/v1/evaluate/flags/half', { token: null })).status, 401);
      assert.equal((await ofrep('/ofrep/v1/evaluate/flags/half', { token: 'w'.repeat(43) })).status, 401);
    });

    it('skips the admin check for OFREP routes only, not for any path spelled /ofrep/...', async () => {
      // Sent as written (fetch would resolve the dot segments before sending).
      const { port } = new URL(harness.server.adminUrl);
      for (const path of ['/ofrep/../api/v1/flags', '/ofrep/%2e%2e/api/v1/segments', '/ofrep/v1/nothing']) {
        const status = await new Promise<number | undefined>((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path }, (response) => {
              response.resume();
              resolve(response.statusCode);
            })
            .on('error', reject);
        });
        assert.equal(status, 401, path);
      }
    });

    it('evaluates the environment ?environment= or X-Cutover-Environment names; an unknown one is a 400', async () => {
      assert.equal((await ofrep('/ofrep/v1/evaluate/flags/staging-only')).status, 404);
      assert.equal((await ofrep('/ofrep/v1/evaluate/flags/staging-only?environment=staging')).status, 200);
      const byHeader = await ofrep('/ofrep/v1/evaluate/flags/staging-only', {
        headers: { 'x-cutover-environment': 'staging' },
      });
      assert.deepEqual([byHeader.status, byHeader.body.metadata.environment], [200, 'staging']);
      const unknown = await ofrep('/ofrep/v1/evaluate/flags/half?environment=moon');
      assert.deepEqual([unknown.status, unknown.body.errorCode], [400, 'GENERAL']);
    });
  });

  describe('bulk evaluation', () => {
    it('answers every flag with an ETag, then 304 for If-None-Match until something changes', async () => {
      const context = { context: { targetingKey: 'user-3', email: 'bo@example.com' } };
      const first = await ofrep('/ofrep/v1/evaluate/flags', { body: context });
      assert.equal(first.status, 200);
      assert.deepEqual(
        first.body.flags.map((f: { key: string }) => f.key),
        ['half', 'internal-tool', 'static-on'],
      );
      const etag = first.headers.get('etag');
      assert.match(etag ?? '', /^"[\w-]+"$/);

      const again = await ofrep('/ofrep/v1/evaluate/flags', { body: context, headers: { 'if-none-match': etag! } });
      assert.deepEqual([again.status, again.body, again.headers.get('etag')], [304, null, etag]);
      const weak = await ofrep('/ofrep/v1/evaluate/flags', {
        body: context,
        headers: { 'if-none-match': `W/${etag}` },
      });
      assert.equal(weak.status, 304);

      const otherUser = await ofrep('/ofrep/v1/evaluate/flags', {
        body: { context: { targetingKey: 'user-3', email: 'bo@elsewhere.org' } },
        headers: { 'if-none-match': etag! },
      });
      assert.equal(otherUser.status, 200, 'another context that answers differently is not the same answer');

      await admin(harness, 'PATCH', '/api/v1/flags/static-on', { patch: { defaultVariant: 'off' } });
      const changed = await ofrep('/ofrep/v1/evaluate/flags', { body: context, headers: { 'if-none-match': etag! } });
      assert.equal(changed.status, 200);
      assert.notEqual(changed.headers.get('etag'), etag);
      await admin(harness, 'PATCH', '/api/v1/flags/static-on', { patch: { defaultVariant: 'on' } });
    });

    it('400 with an error code (and no key) for a context it cannot take', async () => {
      const reply = await ofrep('/ofrep/v1/evaluate/flags', { body: { context: 'user-1' } });
      assert.equal(reply.status, 400);
      assert.deepEqual(reply.body, { errorCode: 'INVALID_CONTEXT', errorDetails: 'context: expected a JSON object' });
    });
  });

  describe('client-side tokens', () => {
    it('are made, listed and revoked with `cutover flags tokens`; the token is shown once', async () => {
      const created = await cli(['create', 'web-app', '--json']);
      assert.equal(created.code, 0, created.stderr);
      const answer = JSON.parse(created.stdout) as { id: string; token: string; environment: string; name: string };
      assert.match(answer.token, /^cof_[\w-]{43}$/);
      assert.deepEqual([answer.name, answer.environment], ['web-app', 'production']);
      clientToken = answer.token;
      clientTokenId = answer.id;

      const listed = await cli(['list']);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, new RegExp(`${answer.id}\\s+web-app\\s+production\\s+.*by alice\\s+active`));
      const json = await adminCall(harness, 'GET', '/api/v1/flag-client-tokens');
      assert.ok(!JSON.stringify(json.body).includes(clientToken), 'the list never shows the token');
      assert.ok(!JSON.stringify(json.body).includes('hash'), 'nor its hash');
    });

    it('see only client-visible flags, as values: no metadata, no rules, no segments', async () => {
      const bulk = await ofrep('/ofrep/v1/evaluate/flags', {
        token: clientToken,
        body: { context: { targetingKey: 'user-3' } },
      });
      assert.equal(bulk.status, 200);
      assert.deepEqual(
        bulk.body.flags.map((f: Record<string, unknown>) => Object.keys(f).sort().join(',')),
        ['key,reason,value,variant', 'key,reason,value,variant'],
      );
      assert.deepEqual(
        bulk.body.flags.map((f: { key: string }) => f.key),
        ['half', 'static-on'],
      );
      const hidden = await ofrep('/ofrep/v1/evaluate/flags/internal-tool', {
        token: clientToken,
        body: { context: { email: 'ana@example.com' } },
      });
      assert.deepEqual([hidden.status, hidden.body.errorCode], [404, 'FLAG_NOT_FOUND'], 'as if it did not exist');
      const visible = await ofrep('/ofrep/v1/evaluate/flags/static-on', { token: null, apiKey: clientToken });
      assert.deepEqual(visible.body, { key: 'static-on', value: true, variant: 'on', reason: 'STATIC' });
    });

    it('cannot read flags, rules or segments anywhere else (403), nor another environment', async () => {
      for (const path of [
        '/api/v1/flags',
        '/api/v1/flags/internal-tool',
        '/api/v1/segments',
        '/api/v1/sdk/flags',
        '/api/v1/flag-client-tokens',
      ]) {
        const reply = await adminCall(harness, 'GET', path, undefined, clientToken);
        assert.equal(reply.status, 403, path);
        assert.equal(reply.body.error.code, 'FORBIDDEN');
        assert.ok(!JSON.stringify(reply.body).includes('staff'), 'the segment stays unseen');
      }
      const staging = await ofrep('/ofrep/v1/evaluate/flags/staging-only?environment=staging', { token: clientToken });
      assert.equal(staging.status, 403);
    });

    it('the SDK token cannot make one', async () => {
      const reply = await adminCall(
        harness,
        'POST',
        '/api/v1/flag-client-tokens',
        { name: 'sneaky' },
        harness.server.sdkToken,
      );
      assert.equal(reply.status, 403);
    });

    it('CORS: the configured origin is granted (preflight too), another origin is not', async () => {
      const preflight = (origin: string) =>
        fetch(`${harness.server.adminUrl}/ofrep/v1/evaluate/flags`, {
          method: 'OPTIONS',
          headers: {
            origin,
            'access-control-request-method': 'POST',
            'access-control-request-headers': 'authorization,content-type,if-none-match',
          },
        });
      const granted = await preflight(APP_ORIGIN);
      assert.equal(granted.status, 204);
      assert.equal(granted.headers.get('access-control-allow-origin'), APP_ORIGIN);
      assert.match(
        granted.headers.get('access-control-allow-headers') ?? '',
        /Authorization.*Content-Type.*If-None-Match/,
      );
      assert.equal(granted.headers.get('access-control-allow-methods'), 'POST');
      const refused = await preflight('http://evil.localhost:5173');
      assert.equal(refused.status, 403);
      assert.equal(refused.headers.get('access-control-allow-origin'), null);

      const fromApp = await ofrep('/ofrep/v1/evaluate/flags', { token: clientToken, headers: { origin: APP_ORIGIN } });
      assert.equal(fromApp.headers.get('access-control-allow-origin'), APP_ORIGIN);
      assert.match(fromApp.headers.get('access-control-expose-headers') ?? '', /ETag/);
      assert.match(fromApp.headers.get('vary') ?? '', /Origin/);
      const fromElsewhere = await ofrep('/ofrep/v1/evaluate/flags', {
        token: clientToken,
        headers: { origin: 'https://localhost:5173' },
      });
      assert.equal(fromElsewhere.headers.get('access-control-allow-origin'), null);
    });

    it('a revoked token is refused at once (401)', async () => {
      const revoked = await cli(['revoke', clientTokenId]);
      assert.equal(revoked.code, 0, revoked.stderr);
      assert.match(revoked.stdout, /revoked .* "web-app"/);
      assert.equal((await ofrep('/ofrep/v1/evaluate/flags', { token: clientToken })).status, 401);
      assert.match((await cli(['list'])).stdout, /revoked/);
      const unknown = await cli(['revoke', 'nope']);
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /CLIENT_TOKEN_NOT_FOUND|no client-side token/);
    });
  });

  describe('clientVisible', () => {
    it('is kept by the admin API, set by `cutover flags set --client-visible`, and kept by a seeds update', async () => {
      assert.equal((await admin(harness, 'GET', '/api/v1/flags/half')).flag.clientVisible, true);
      const env = { CUTOVER_URL: harness.server.adminUrl, CUTOVER_TOKEN: harness.server.token };
      const set = await runCli(['flags', 'set', 'internal-tool', '--client-visible', 'true'], {
        cwd: harness.dir,
        env,
      });
      assert.equal(set.code, 0, set.stderr);
      assert.equal((await admin(harness, 'GET', '/api/v1/flags/internal-tool')).flag.clientVisible, true);
      const wrong = await runCli(['flags', 'set', 'internal-tool', '--client-visible', 'yes'], {
        cwd: harness.dir,
        env,
      });
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /--client-visible: expected true or false/);
      const unset = await runCli(['flags', 'set', 'internal-tool', '--client-visible', 'false'], {
        cwd: harness.dir,
        env,
      });
      assert.equal(unset.code, 0, unset.stderr);
      assert.equal((await admin(harness, 'GET', '/api/v1/flags/internal-tool')).flag.clientVisible, false);
      await admin(harness, 'POST', '/admin/feature-flags/', { flag: 'half', enabled_for: '50%' });
      assert.equal((await admin(harness, 'GET', '/api/v1/flags/half')).flag.clientVisible, true);
    });

    it('is not sent to the SDKs, so an SDK that predates it does not take the flag for an invalid one', async () => {
      const snapshot = await adminCall(harness, 'GET', '/api/v1/sdk/flags', undefined, harness.server.sdkToken);
      assert.equal(snapshot.status, 200);
      const half = snapshot.body.flags.find((flag: { key: string }) => flag.key === 'half');
      assert.ok(half);
      assert.equal('clientVisible' in half, false);
    });
  });

  it('counts what it evaluated where the SDKs report theirs', async () => {
    const before = await admin(harness, 'GET', '/api/v1/flags/internal-tool');
    const countOf = (detail: { evaluations: { variant: string | null; count: number }[] }) =>
      detail.evaluations.find((entry) => entry.variant === 'on')?.count ?? 0;
    const start = countOf(before);
    for (let i = 0; i < 3; i++)
      await ofrep('/ofrep/v1/evaluate/flags/internal-tool', { body: { context: { email: 'ana@example.com' } } });
    await eventually(
      async () => countOf(await admin(harness, 'GET', '/api/v1/flags/internal-tool')) >= start + 3,
      'three OFREP evaluations of internal-tool/on counted',
    );
    const metrics = await fetch(`${harness.server.adminUrl}/metrics`, {
      headers: { authorization: `Bearer ${harness.server.token}` },
    }).then((response) => response.text());
    assert.match(metrics, /cutover_flag_evaluations_total\{[^}]*flag="internal-tool"[^}]*variant="on"[^}]*\} [1-9]/);
  });

  it('429 with Retry-After once an address has guessed too often', async () => {
    let last: Reply | null = null;
    for (let i = 0; i < 12; i++)
      last = await ofrep('/ofrep/v1/evaluate/flags', { token: `guess-${i}`.padEnd(43, 'x') });
    assert.equal(last!.status, 429);
    assert.ok(Number(last!.headers.get('retry-after')) > 0);
  });
});
