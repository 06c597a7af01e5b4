import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { evaluateFlagJson } from '../../src/flags/evaluate.js';
import type { Segments } from '../../src/flags/flag-model.js';
import { safeParseFlag } from '../../src/flags/flag-schema.js';
import { isStatic } from '../../src/flags/ofrep-answers.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { REPO_ROOT, startHarness, type Harness } from '../support/cutover-harness.js';
import { admin, boolFlag } from '../sdk/flag-admin.js';
import { openFeatureType, vectors, type Vector } from '../sdk/shared-vectors.js';

/**
 * A web page evaluates cutover's flags the way a browser app would: the
 * official @openfeature/web-sdk with @openfeature/ofrep-web-provider, in a
 * real Chromium, served by a test server on another loopback origin
 * (127.0.0.2) than the flag server's (127.0.0.1), with a client-side token.
 * CORS is granted to that origin by `flags.client.allowed_origins`; the
 * same page from 127.0.0.3 is not granted and gets nothing. The shared
 * vectors, each flag marked clientVisible, must come out as the Node SDK
 * computes them (STATIC for DEFAULT on a flag that has no rules or rollout).
 */
const CHROMIUM = '/usr/bin/chromium';
const OPENFEATURE = path.join(REPO_ROOT, 'node_modules', '@openfeature');
const NESTED_OFREP_CORE = path.join(OPENFEATURE, 'ofrep-web-provider', 'node_modules', '@openfeature', 'ofrep-core');

/** The ES modules the page loads through its import map: the packages' own builds, unbundled. */
const MODULES: Record<string, string> = {
  '@openfeature/core': path.join(OPENFEATURE, 'core', 'dist', 'esm', 'index.js'),
  '@openfeature/web-sdk': path.join(OPENFEATURE, 'web-sdk', 'dist', 'esm', 'index.js'),
  // npm nests the web provider's ofrep-core when the Node provider holds an older one at the top.
  '@openfeature/ofrep-core': path.join(
    fs.existsSync(NESTED_OFREP_CORE) ? NESTED_OFREP_CORE : path.join(OPENFEATURE, 'ofrep-core'),
    'index.esm.js',
  ),
  '@openfeature/ofrep-web-provider': path.join(OPENFEATURE, 'ofrep-web-provider', 'index.esm.js'),
};

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>cutover flags over OFREP</title>
<script type="importmap">${JSON.stringify({
  imports: Object.fromEntries(Object.keys(MODULES).map((name) => [name, `/modules/${name}.js`])),
})}</script>
<script type="module">
  import { OpenFeature } from '@openfeature/web-sdk';
  import { OFREPWebProvider } from '@openfeature/ofrep-web-provider';
  let domains = 0;
  // One provider per call, on a domain of its own: a fresh bulk evaluation with this context.
  window.evaluateFlag = async ({ baseUrl, token, context, key, type, fallback }) => {
    const domain = 'd' + domains++;
    const provider = new OFREPWebProvider({
      baseUrl,
      headers: [['Authorization', 'Bearer ' + token]],
      pollInterval: 0,
      cacheMode: 'disabled',
    });
    await OpenFeature.setProviderAndWait(domain, provider, context).catch(() => {});
    const client = OpenFeature.getClient(domain);
    const getter = { boolean: 'getBooleanDetails', string: 'getStringDetails', number: 'getNumberDetails', object: 'getObjectDetails' }[type];
    const d = client[getter](key, fallback);
    return { value: d.value, variant: d.variant ?? null, reason: d.reason, errorCode: d.errorCode ?? null, metadata: d.flagMetadata };
  };
  window.rawFetch = async ({ url, token }) => {
    try {
      const response = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json' }, body: '{"context":{}}' });
      return { status: response.status, etag: response.headers.get('etag') };
    } catch (error) {
      return { error: error.name };
    }
  };
  document.title = 'ready';
</script></head><body>flags</body></html>`;

function pageServer(host: string, port: number): Promise<http.Server> {
  const server = http.createServer((request, response) => {
    const url = request.url ?? '/';
    if (url === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    const name = /^\/modules\/(.+)\.js$/.exec(url)?.[1];
    const file = name === undefined ? undefined : MODULES[decodeURIComponent(name)];
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(fs.readFileSync(file));
  });
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)));
}

interface Answer {
  value: unknown;
  variant: string | null;
  reason: string;
  errorCode: string | null;
  metadata: object;
}

/** What the page's module script puts on `window` for the test to call. */
interface PageApi {
  evaluateFlag(args: {
    baseUrl: string;
    token: string;
    context: unknown;
    key: string;
    type: string;
    fallback: unknown;
  }): Promise<Answer>;
  rawFetch(args: { url: string; token: string }): Promise<{ status?: number; etag?: string | null; error?: string }>;
}

const DEFAULTS = { boolean: false, string: '(default)', number: -1, object: { default: true } } as const;

function acceptedByServer(vector: Vector): boolean {
  const parsed = safeParseFlag(vector.flag);
  if (!parsed.ok) return false;
  const defined = new Set(Object.keys(vector.segments ?? {}));
  return !parsed.value.rules.some((rule) =>
    rule.constraints.some((constraint) => constraint.operator === 'in_segment' && !defined.has(constraint.segment)),
  );
}

describe('OFREP in a real browser: the official web provider with a client-side token', { timeout: 180_000 }, () => {
  let harness: Harness;
  let browser: Browser;
  let page: Page;
  let strangerPage: Page;
  let token: string;
  const servers: http.Server[] = [];
  let appOrigin = '';
  let strangerOrigin = '';

  before(async () => {
    const appPort = await findFreePort();
    appOrigin = `http://127.0.0.2:${appPort}`;
    servers.push(await pageServer('127.0.0.2', appPort));
    const strangerPort = await findFreePort();
    strangerOrigin = `http://127.0.0.3:${strangerPort}`;
    servers.push(await pageServer('127.0.0.3', strangerPort));
    harness = await startHarness({
      instances: 1,
      topLevelYaml: `flags:\n  client:\n    allowed_origins: [${appOrigin}]\n`,
    });
    token = (await admin(harness, 'POST', '/api/v1/flag-client-tokens', { name: 'browser-test' })).token;
    await admin(harness, 'POST', '/api/v1/flags', { flag: boolFlag('server-only', { defaultVariant: 'on' }) });

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const context = await browser.newContext();
    page = await context.newPage();
    await page.goto(`${appOrigin}/`);
    await page.waitForFunction('document.title === "ready"');
    strangerPage = await context.newPage();
    await strangerPage.goto(`${strangerOrigin}/`);
    await strangerPage.waitForFunction('document.title === "ready"');
  });
  after(async () => {
    await browser?.close();
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    await harness?.close();
  });

  const evaluateIn = (target: Page, key: string, context: unknown, type: keyof typeof DEFAULTS) =>
    target.evaluate((args) => (globalThis as unknown as PageApi).evaluateFlag(args), {
      baseUrl: harness.server.adminUrl,
      token,
      context,
      key,
      type,
      fallback: DEFAULTS[type],
    }) as Promise<{
      value: unknown;
      variant: string | null;
      reason: string;
      errorCode: string | null;
      metadata: object;
    }>;

  it('the allowed origin reads the answer and its ETag; another origin is refused by the browser', async () => {
    const url = `${harness.server.adminUrl}/ofrep/v1/evaluate/flags`;
    const granted = await page.evaluate((args) => (globalThis as unknown as PageApi).rawFetch(args), { url, token });
    assert.equal(granted.status, 200);
    assert.match(granted.etag ?? '', /^"/, 'ETag is exposed to the page, so the provider can send If-None-Match');
    const refused = await strangerPage.evaluate((args) => (globalThis as unknown as PageApi).rawFetch(args), {
      url,
      token,
    });
    assert.deepEqual(refused, { error: 'TypeError' }, 'no CORS grant: the page never sees the answer');
    const viaProvider = await evaluateIn(strangerPage, 'server-only', {}, 'boolean');
    assert.deepEqual([viaProvider.value, viaProvider.reason], [false, 'ERROR']);
  });

  it('a flag that is not client-visible does not exist for the page', async () => {
    const answer = await evaluateIn(page, 'server-only', { targetingKey: 'u1' }, 'boolean');
    assert.deepEqual([answer.value, answer.reason, answer.errorCode], [false, 'ERROR', 'FLAG_NOT_FOUND']);
  });

  describe('the shared vectors, each flag client-visible', () => {
    const created = new Set<string>();
    const segmentsOnServer = new Map<string, string>();
    for (const vector of vectors.filter(acceptedByServer)) {
      it(vector.name, async () => {
        for (const [name, constraints] of Object.entries((vector.segments ?? {}) as Record<string, unknown>)) {
          const text = JSON.stringify(constraints);
          if (segmentsOnServer.get(name) === text) continue;
          await admin(harness, 'PUT', `/api/v1/segments/${name}`, { constraints });
          segmentsOnServer.set(name, text);
        }
        const key = (vector.flag as { key: string }).key;
        const flag = { ...(vector.flag as object), clientVisible: true };
        if (created.has(key)) await admin(harness, 'PUT', `/api/v1/flags/${key}`, { flag });
        else await admin(harness, 'POST', '/api/v1/flags', { flag });
        created.add(key);

        const type = openFeatureType(vector) ?? 'object';
        const answer = await evaluateIn(page, key, vector.context, type);
        assert.deepEqual(answer.metadata, {}, 'a client token gets no metadata (no rule index)');
        const { expected } = vector;
        const untyped = evaluateFlagJson(vector.flag, vector.context, (vector.segments ?? {}) as Segments);
        if (expected.errorCode === 'TYPE_MISMATCH') {
          // OFREP carries no type; the web SDK checks it, except that typeof null is "object".
          if (untyped.value === null) assert.deepEqual([answer.value, answer.variant], [null, untyped.variant]);
          else assert.deepEqual([answer.value, answer.errorCode], [DEFAULTS[type], 'TYPE_MISMATCH']);
          return;
        }
        if (expected.reason === 'ERROR') {
          assert.deepEqual(
            [answer.value, answer.reason, answer.errorCode],
            [DEFAULTS[type], 'ERROR', expected.errorCode],
          );
          return;
        }
        const parsed = safeParseFlag(vector.flag);
        assert.ok(parsed.ok);
        const reason = expected.reason === 'DEFAULT' && isStatic(parsed.value) ? 'STATIC' : expected.reason;
        assert.deepEqual(
          { value: answer.value, variant: answer.variant, reason: answer.reason, errorCode: answer.errorCode },
          { value: expected.value, variant: expected.variant, reason, errorCode: null },
          vector.note,
        );
      });
    }
  });
});
