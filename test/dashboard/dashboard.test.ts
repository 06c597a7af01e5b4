import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { request } from 'undici';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { REPO_ROOT, SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep, versionAt } from '../support/operations.js';

// The operator's view of a deploy, in a real browser: Chromium (Debian package
// `chromium`) driven by playwright-core against a real cutover server with
// real instances and real traffic. Log in with the token, watch a blue-green
// deploy switch without reloading the page, roll it back from the page,
// watch a canary at 25 % (and keep a screenshot of it), and check that the
// page and the API refuse a visitor without the token and a forged write.
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');

const SHOP_YAML = `  shop:
    hosts: [shop.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps:
        - { weight: 25, pause: 30s }
        - { weight: 100 }
      canary_instances: 1
      stickiness: { by: header, name: X-User-Id }
      timeout: 10s
    drain_timeout: 2s
  gate:
    hosts: [gate.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms }
    strategy: { type: blue-green, approval: true, timeout: 10s }
    drain_timeout: 2s
`;

describe('the web dashboard in Chromium', { timeout: 90_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const url = (p: string): string => `${h.server.adminUrl}${p}`;
  const card = (service: string): string => `[data-service="${service}"]`;
  const activeVersion = (service: string): string => `${card(service)} .release[data-role="active"] .version`;

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install the Debian package \`chromium\` (apt-get install -y chromium) to run the dashboard test`,
      );
    }
    h = await startHarness({
      instances: 2,
      strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
      extraServiceYaml: SHOP_YAML,
      // Every flag is stale at once (none is evaluated here): the list shows its badge.
      topLevelYaml: 'flags: { stale_after: 1ms }\n',
    });
    const web = await operate(h.client, '/api/v1/services/web/deploy', { version: 'v1' });
    assert.equal(web.operation.outcome, 'succeeded', JSON.stringify(web.operation.error));
    const shop = await operate(h.client, '/api/v1/services/shop/deploy', { version: 'v1' });
    assert.equal(shop.operation.outcome, 'succeeded', JSON.stringify(shop.operation.error));
    const gate = await operate(h.client, '/api/v1/services/gate/deploy', { version: 'v1' });
    assert.equal(gate.operation.phase, 'ready', 'the gated service waits for an approval');
    await operate(h.client, '/api/v1/services/gate/approve', {});
    await h.client.request('POST', '/api/v1/flags', {
      flag: {
        key: 'new-checkout',
        description: 'The one-page checkout',
        enabled: true,
        variants: { on: true, off: false },
        defaultVariant: 'off',
        offVariant: 'off',
        rollout: { percentage: 25, variant: 'on' },
      },
      actor: 'test',
    });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (error) => {
      pageErrors.push(error.message);
    });
  });
  after(async () => {
    await browser?.close();
    await h?.close();
  });

  it('shows only the login form without a session; the API answers 401 and a wrong token is refused', async () => {
    const visitor = await browser.newContext();
    try {
      const stranger = await visitor.newPage();
      await stranger.goto(url('/'));
      assert.equal(
        new URL(stranger.url()).pathname,
        '/dashboard',
        'the admin address sends a browser to the dashboard',
      );
      assert.equal(await stranger.locator('#login-form').count(), 1);
      assert.equal(
        await stranger.locator('#services, meta[name="cutover-csrf"]').count(),
        0,
        'no dashboard and no CSRF token before login',
      );

      await stranger.fill('#token', `${h.server.token}x`);
      await stranger.click('#login-form button[type="submit"]');
      assert.match(await stranger.locator('#login-error').innerText(), /wrong token/i);
      assert.equal(await stranger.locator('#services').count(), 0);
      assert.deepEqual(await visitor.cookies(), [], 'a wrong token gets no cookie');
    } finally {
      await visitor.close();
    }
    for (const p of ['/api/v1/services', '/api/v1/events/stream', '/api/v1/flags']) {
      const answer = await request(url(p));
      assert.equal(answer.statusCode, 401, p);
      assert.equal(((await answer.body.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    }
    // A login form posted from another site is refused even with the right token (login CSRF).
    const forged = await request(url('/dashboard/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://evil.example' },
      body: new URLSearchParams({ token: h.server.token }).toString(),
    });
    assert.equal(forged.statusCode, 403);
    assert.equal(forged.headers['set-cookie'], undefined);
    await forged.body.dump();
  });

  it('logs in with the token and shows a blue-green deploy as it happens, without a reload', async () => {
    await page.goto(url('/dashboard'));
    await page.fill('#token', h.server.token);
    await page.click('#login-form button[type="submit"]');
    await page.waitForSelector(`${activeVersion('web')}:text-is("v1")`);
    await page.waitForSelector('#connection[data-state="live"]');
    assert.equal(
      await page.textContent('header #router'),
      `router: proxy (${new URL(h.proxyUrl).host})`,
      'the header names the router in use',
    );

    const [cookie] = (await context.cookies()).filter((c) => c.name === 'cutover_session');
    assert.ok(cookie, 'the session cookie is set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.path, '/');
    assert.equal(cookie.secure, false, 'plain HTTP on loopback: a Secure cookie would never come back');
    assert.notEqual(cookie.value, h.server.token, 'the cookie holds a session id, not the token');
    assert.ok(!page.url().includes(h.server.token), 'the token is never in a URL');
    assert.equal(
      await page.evaluate('document.cookie.includes("cutover_session")'),
      false,
      'page scripts cannot read it',
    );

    const loadedAt = await page.evaluate('window.__loadedAt');
    assert.equal(typeof loadedAt, 'number');
    let navigations = 0;
    page.on('framenavigated', (frame) => {
      if (frame === page.mainFrame()) navigations++;
    });

    await h.client.request('POST', '/api/v1/services/web/deploy', { version: 'v2', actor: 'test' });
    await page.waitForSelector(`${card('web')} .timeline li[data-type="deploy.started"]`);
    await page.waitForSelector(`${card('web')} .timeline li[data-type="release.healthy"]`);
    await page.waitForSelector(`${card('web')} .timeline li[data-type="traffic.switched"]`);
    await page.waitForSelector(`${activeVersion('web')}:text-is("v2")`);
    await page.waitForSelector(`${card('web')} .release[data-role="standby"] .version:text-is("v1")`);
    await page.waitForSelector(`${card('web')} .split [data-role="active"][data-weight="100"]:has-text("v2")`);
    await page.waitForSelector(`${card('web')} [data-field="history"] tr:first-child .outcome-succeeded`);

    assert.equal(navigations, 0, 'the page was updated in place');
    assert.equal(await page.evaluate('window.__loadedAt'), loadedAt);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2');
    assert.deepEqual(pageErrors, [], 'no script error in the page');
  });

  it('rolls back from the page after a confirmation, and the traffic moves back', async () => {
    const rollback = page.locator(`${card('web')} button[data-action="rollback"]:not([disabled])`);
    // Cancel first: nothing may happen without the confirmation.
    await rollback.click();
    await page.waitForSelector('#confirm[open]');
    assert.match(await page.locator('#confirm-title').innerText(), /Roll back web\?/);
    assert.match(await page.locator('#confirm-detail').innerText(), /from v2 back to the previous release \(v1/);
    await page.click('#confirm-cancel');
    await sleep(300);
    assert.equal((await versionAt(h.proxyUrl)).version, 'v2', 'cancel does not roll back');

    await rollback.click();
    await page.click('#confirm-ok');
    await page.waitForSelector(`${activeVersion('web')}:text-is("v1")`);
    await page.waitForSelector(
      `${card('web')} [data-field="history"] tr:first-child td:first-child:has-text("rollback")`,
    );
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1', 'the proxy sends traffic to v1 again');
    const history = await h.client.request<{ operations: { kind: string; actor: string; outcome: string }[] }>(
      'GET',
      '/api/v1/services/web/history',
    );
    const last = history.operations.find((op) => op.kind === 'rollback');
    assert.deepEqual({ actor: last?.actor, outcome: last?.outcome }, { actor: 'dashboard', outcome: 'succeeded' });

    // The flag kill switch goes through the same confirmation and the flags API.
    await page.waitForSelector('tr[data-flag="new-checkout"] td:text-is("25%")');
    const badge = page.locator('tr[data-flag="new-checkout"] .badge-stale');
    assert.equal(await badge.innerText(), 'stale');
    assert.equal(await badge.getAttribute('data-stale'), 'not_evaluated');
    assert.match((await badge.getAttribute('title')) ?? '', /never evaluated \(since \d{4}-\d\d-\d\d\)/);
    await page.click('tr[data-flag="new-checkout"] button[data-action="disable"]');
    await page.click('#confirm-ok');
    await page.waitForSelector('tr[data-flag="new-checkout"] .flag-off');
    const flag = await h.client.request<{ flag: { enabled: boolean }; updatedBy: string }>(
      'GET',
      '/api/v1/flags/new-checkout',
    );
    assert.deepEqual({ enabled: flag.flag.enabled, by: flag.updatedBy }, { enabled: false, by: 'dashboard' });
  });

  it('shows a canary at 25 % with live charts, saves a screenshot, and aborts it from the page', async () => {
    const shopTraffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'shop.localhost',
      ratePerSecond: 60,
      clientHeader: 'X-User-Id',
      maxDurationMs: 40_000,
    }).start();
    const webTraffic = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'web.localhost',
      ratePerSecond: 20,
      maxDurationMs: 40_000,
    }).start();
    try {
      await h.client.request('POST', '/api/v1/services/shop/deploy', { version: 'v2', actor: 'test' });
      await page.waitForSelector(`${card('shop')} .split [data-role="canary"][data-weight="25"]:has-text("v2")`);
      await page.waitForSelector(`${card('shop')} .split [data-role="active"][data-weight="75"]:has-text("v1")`);
      await page.waitForSelector(`${card('shop')} .release[data-role="canary"] .version:text-is("v2")`);
      await page.waitForSelector(`${card('shop')} .timeline li[data-type="canary.weight"]`);
      await page
        .locator(`${card('shop')} [data-field="observed"]`)
        .filter({ hasText: /v2 \d+%/ })
        .waitFor({ timeout: 15_000 });
      // Both releases in the chart's legend (within 10 s, as the 4 s sleep this replaced gave less room), then
      // two more one-second points, so the charts in the screenshot have lines to show.
      const legendLabels = page
        .locator(`${card('shop')} .chart[data-chart="requests/s"] .u-legend .u-label`)
        .filter({ visible: true });
      let legend: string[] = [];
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
        legend = await legendLabels.allInnerTexts();
        if (legend.includes('v1') && legend.includes('v2')) break;
      }
      assert.ok(legend.includes('v1') && legend.includes('v2'), `both releases are charted: ${legend.join(', ')}`);
      await sleep(2000);
      assert.equal(await page.locator(`${card('shop')} .uplot`).count(), 3, 'requests/s, error rate and p95 charts');

      fs.mkdirSync(ARTIFACTS, { recursive: true });
      const shot = path.join(ARTIFACTS, 'dashboard-canary.png');
      await page.screenshot({ path: shot, fullPage: true });
      const png = fs.readFileSync(shot);
      assert.equal(png.subarray(1, 4).toString(), 'PNG');
      assert.ok(png.length > 20_000, `a real screenshot, ${png.length} bytes`);

      // Readable on a phone: one column, nothing wider than the screen.
      await page.setViewportSize({ width: 390, height: 844 });
      await sleep(300);
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
      assert.ok(overflow <= 1, `no horizontal scrolling on a phone (overflow ${overflow}px)`);
      await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-phone.png') });
      await page.setViewportSize({ width: 1440, height: 1000 });

      await page.click(`${card('shop')} button[data-action="abort"]`);
      await page.click('#confirm-ok');
      await page.waitForSelector(`${card('shop')} .release[data-role="canary"]`, { state: 'detached' });
      await page.waitForSelector(`${card('shop')} .split [data-role="active"][data-weight="100"]:has-text("v1")`);
      await page.waitForSelector(`${card('shop')} [data-field="history"] tr:first-child .outcome-aborted`);
      assert.equal((await versionAt(h.proxyUrl, 'shop.localhost')).version, 'v1');
    } finally {
      await shopTraffic.stop();
      await webTraffic.stop();
    }
  });

  it('approves a gated switch from the page, recorded as given from the dashboard', async () => {
    assert.equal(
      await page.locator(`${card('gate')} button[data-action="approve"]`).isDisabled(),
      true,
      'nothing waits yet',
    );
    const { operation } = await h.client.request<{ operation: { id: string } }>(
      'POST',
      '/api/v1/services/gate/deploy',
      { version: 'v2', actor: 'test' },
    );
    const approve = page.locator(`${card('gate')} button[data-action="approve"]`);
    await approve.and(page.locator(':enabled')).waitFor({ timeout: 15_000 });
    assert.equal((await versionAt(h.proxyUrl, 'gate.localhost')).version, 'v1', 'no switch before the approval');
    await approve.click();
    assert.match(await page.locator('#confirm-title').innerText(), /Approve gate\?/);
    await page.click('#confirm-ok');
    await page.waitForSelector(`${activeVersion('gate')}:text-is("v2")`);
    assert.equal((await versionAt(h.proxyUrl, 'gate.localhost')).version, 'v2');
    const { events } = await h.client.request<{ events: { type: string; message: string }[] }>(
      'GET',
      `/api/v1/operations/${operation.id}`,
    );
    assert.ok(
      events.some((e) => e.type === 'deploy.approved' && e.message === 'switch approved by dashboard'),
      JSON.stringify(events.map((e) => e.type)),
    );
  });

  it('refuses a cookie-authenticated write without the CSRF header; logout ends the session', async () => {
    const [cookie] = (await context.cookies()).filter((c) => c.name === 'cutover_session');
    assert.ok(cookie);
    const withCookie = { cookie: `cutover_session=${cookie.value}` };
    const csrf = await page.locator('meta[name="cutover-csrf"]').getAttribute('content');
    assert.ok(csrf && csrf.length >= 32);

    const read = await request(url('/api/v1/services'), { headers: withCookie });
    assert.equal(read.statusCode, 200, 'the cookie authorises reads');
    await read.body.dump();
    for (const header of [{}, { 'x-cutover-csrf': 'not-the-token' }]) {
      const write = await request(url('/api/v1/services/web/rollback'), {
        method: 'POST',
        headers: { ...withCookie, ...header, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(write.statusCode, 403);
      assert.equal(((await write.body.json()) as { error: { code: string } }).error.code, 'FORBIDDEN');
    }
    assert.equal((await versionAt(h.proxyUrl)).version, 'v1', 'the refused rollback did nothing');
    const sdk = await request(url('/api/v1/sdk/flags'), { headers: withCookie });
    assert.equal(sdk.statusCode, 401, 'the cookie is not an SDK credential');
    await sdk.body.dump();

    const patch = (headers: Record<string, string>, enabled: boolean): ReturnType<typeof request> =>
      request(url('/api/v1/flags/new-checkout'), {
        method: 'PATCH',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ patch: { enabled } }),
      });
    const allowed = await patch({ ...withCookie, 'x-cutover-csrf': csrf }, true);
    assert.equal(allowed.statusCode, 200, "with the session's CSRF token the write goes through");
    await allowed.body.dump();
    const bearer = await patch({ authorization: `Bearer ${h.server.token}` }, false);
    assert.equal(bearer.statusCode, 200, 'the bearer token needs no CSRF header');
    await bearer.body.dump();

    // Secure only when the browser came over HTTPS (here: a TLS-terminating proxy said so).
    const login = (extra: Record<string, string>): ReturnType<typeof request> =>
      request(url('/dashboard/login'), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...extra },
        body: new URLSearchParams({ token: h.server.token }).toString(),
      });
    const overHttps = await login({ 'x-forwarded-proto': 'https' });
    assert.equal(overHttps.statusCode, 303);
    assert.match(
      String(overHttps.headers['set-cookie']),
      /^cutover_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/,
    );
    await overHttps.body.dump();
    const overHttp = await login({});
    assert.doesNotMatch(String(overHttp.headers['set-cookie']), /Secure/);
    await overHttp.body.dump();

    await page.click('#logout');
    await page.waitForSelector('#login-form');
    const afterLogout = await request(url('/api/v1/services'), { headers: withCookie });
    assert.equal(afterLogout.statusCode, 401, 'the old cookie is worthless after logout');
    await afterLogout.body.dump();
  });
});
