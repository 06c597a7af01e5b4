import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SteadyTraffic } from '../../examples/demo/steady-traffic.js';
import { releaseColors } from '../../web/dashboard/release-identity.js';
import { runCli } from '../support/cli-process.js';
import { REPO_ROOT, SAMPLE_APP, startHarness, type Harness } from '../support/cutover-harness.js';
import { operate, sleep } from '../support/operations.js';
import { readPng } from '../support/png-pixels.js';

// Issue 20, item 17: what an operator saw on the dashboard during a canary, checked in Chromium
// against a real server, real instances and real traffic. The colors are compared on screenshots
// (saved in test-artifacts/): one color per release in the traffic bar, its box and the charts.
// Then the legends (versions only, releases that run only), the "observed" split against a count
// made by the client, the buttons after a pause, Finish, the canary's health count (page and CLI),
// the heading, the 5 % label, a rolling service without slots, and the running canary first on a phone.
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = path.join(REPO_ROOT, 'test-artifacts');
const PHONE = { width: 390, height: 844 };

const SERVICES_YAML = `  roll:
    hosts: [roll.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 1
    health: { path: /health, interval: 200ms }
    strategy: { type: rolling, monitor: 500ms, timeout: 10s }
    drain_timeout: 1s
  shop:
    hosts: [shop.localhost]
    command: node server.js
    cwd: ${SAMPLE_APP}
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 200ms }
    strategy:
      type: canary
      steps:
        - { weight: 5, pause: 10m }
        - { weight: 25, pause: 10m }
      canary_instances: 1
      stickiness: { by: header, name: X-User-Id }
      post_promotion: { window: 10m, analysis: [errors] }
      timeout: 20s
    drain_timeout: 1s
`;
const ANALYSIS_YAML = `analysis:
  errors:
    metrics:
      - name: error-rate
        provider: { builtin: error-rate }
        interval: 1s
        failure_condition: result > 0.5
        consecutive_error_limit: 1000
`;

describe('the dashboard shows each release one way, and only what applies', { timeout: 120_000 }, () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const shop = '[data-service="shop"]';
  const traffic: SteadyTraffic[] = [];
  const shopTraffic = (ratePerSecond: number): SteadyTraffic => {
    const t = new SteadyTraffic({
      url: h.proxyUrl,
      host: 'shop.localhost',
      ratePerSecond,
      clientHeader: 'X-User-Id',
      distinctClients: 2000,
      maxDurationMs: 30_000,
    }).start();
    traffic.push(t);
    return t;
  };
  const button = (name: string) => page.locator(`${shop} button[data-action="${name}"]`);
  const enabledButtons = async (): Promise<string[]> =>
    page.locator(`${shop} .actions button:enabled`).evaluateAll((els) => els.map((e) => e.getAttribute('data-action')));
  const confirm = async (name: string, title: RegExp): Promise<void> => {
    await button(name).click();
    await page.waitForSelector('#confirm[open]');
    assert.match(await page.locator('#confirm-title').innerText(), title);
    await page.click('#confirm-ok');
  };

  before(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    h = await startHarness({
      instances: 1,
      strategy: '{ type: blue-green, auto_switch: true, timeout: 20s }',
      drainTimeout: '1s',
      extraServiceYaml: SERVICES_YAML,
      topLevelYaml: ANALYSIS_YAML,
    });
    for (const service of ['web', 'roll', 'shop']) {
      const done = await operate(h.client, `/api/v1/services/${service}/deploy`, { version: 'v1' });
      assert.equal(done.operation.outcome, 'succeeded', `${service}: ${JSON.stringify(done.operation.error)}`);
    }
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
    const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    page.on('pageerror', (error) => {
      pageErrors.push(error.message);
    });
    await page.goto(`${h.server.adminUrl}/dashboard`);
    await page.fill('#token', h.server.token);
    await page.click('#login-form button[type="submit"]');
    await page.waitForSelector('#connection[data-state="live"]');
    await page.waitForSelector(`${shop} .release[data-role="active"] .version:text-is("v1")`);
  });
  after(async () => {
    // Stopped ones are stopped again harmlessly: allSettled, and the server and browser close whatever happened.
    await Promise.allSettled(traffic.map((t) => t.stop()));
    await browser?.close();
    await h?.close();
  });

  it('draws a canary in one color in the bar, its box and the charts, and drops a stopped release from the legends', async () => {
    const load = shopTraffic(60);
    // A first canary that is aborted: it leaves points behind but no longer runs.
    await h.client.request('POST', '/api/v1/services/shop/deploy', { version: 'v2', actor: 'test' });
    const legend = page.locator(`${shop} .chart[data-chart="requests/s"] .u-legend .u-label`);
    await legend.filter({ hasText: /^v2$/ }).waitFor({ timeout: 20_000 });
    await operate(h.client, '/api/v1/services/shop/abort');
    await page.waitForSelector(`${shop} .release[data-role="canary"]`, { state: 'detached' });

    await h.client.request('POST', '/api/v1/services/shop/deploy', { version: 'v3', actor: 'test' });
    await page.waitForSelector(`${shop} .split [data-role="canary"][data-weight="5"]:has-text("v3 5%")`);
    await legend.filter({ hasText: /^v3$/ }).waitFor({ timeout: 20_000 });
    await sleep(2500); // a few points with both releases serving, so both lines are drawn
    assert.deepEqual(
      await legend.filter({ visible: true }).allInnerTexts(),
      ['v1', 'v3'],
      'versions only, the aborted v2 (shop-2) is gone',
    );
    await load.stop();

    // The colors the page must use, from the pure function: shop-1 is v1, shop-3 is v3.
    const colors = releaseColors(['shop-1', 'shop-3']);
    const v1 = colors.get('shop-1')!;
    const v3 = colors.get('shop-3')!;
    assert.notEqual(v1, v3);

    const shot = path.join(ARTIFACTS, 'dashboard-consistency-canary.png');
    await page.screenshot({ path: shot, fullPage: true });
    const pixels = readPng(fs.readFileSync(shot));
    const box = async (selector: string) => {
      // A status push may replace a release box between finding it and measuring it: look again.
      for (let tries = 0; tries < 20; tries++) {
        const found = await page.locator(selector).first().boundingBox();
        if (found) return found;
        await sleep(100);
      }
      assert.fail(`${selector} is on the page`);
    };
    const edge = async (selector: string): Promise<string> => {
      const b = await box(selector);
      return pixels.at(b.x + 2, b.y + b.height / 2); // inside the padding: the background, not the label
    };
    const middle = async (selector: string): Promise<string> => {
      const b = await box(selector);
      return pixels.at(b.x + b.width / 2, b.y + b.height / 2);
    };
    const marker = (label: string) =>
      `${shop} .chart[data-chart="requests/s"] .u-legend .u-series:has(.u-label:text-is("${label}")) .u-marker`;
    const seen = {
      bar: {
        v1: await edge(`${shop} .split [data-role="active"]`),
        v3: await edge(`${shop} .split [data-role="canary"]`),
      },
      box: {
        v1: await middle(`${shop} .release[data-role="active"] .swatch`),
        v3: await middle(`${shop} .release[data-role="canary"] .swatch`),
      },
      legend: { v1: await middle(marker('v1')), v3: await middle(marker('v3')) },
    };
    assert.deepEqual(
      seen,
      { bar: { v1, v3 }, box: { v1, v3 }, legend: { v1, v3 } },
      'each release has its own color, the same in the bar, its box and the chart legend',
    );
    // The lines themselves: antialiased, so pixels close to the release's color, inside the chart's plot.
    const plot = await box(`${shop} .chart[data-chart="requests/s"] .u-over`);
    assert.ok(pixels.count(v1, plot, 40) > 20, 'the v1 line is drawn in v1’s color');
    assert.ok(pixels.count(v3, plot, 40) > 5, 'the v3 line is drawn in v3’s color');
  });

  it('counts the canary against canary_instances, in the page and in `cutover status`', async () => {
    assert.equal(
      await page.locator(`${shop} .release[data-role="canary"] [data-field="healthy"]`).innerText(),
      '1/1 healthy',
    );
    assert.equal(
      await page.locator(`${shop} .release[data-role="active"] [data-field="healthy"]`).innerText(),
      '2/2 healthy',
    );
    const cli = await runCli(['status', 'shop', '-c', h.configFile], { cwd: h.dir });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /canary\s+\S+\s+v3 \(shop-3\)\s+instances 1\/1 healthy/);
    assert.match(cli.stdout, /active\s+\S+\s+v1 \(shop-1\)\s+instances 2\/2 healthy/);
  });

  it('names the operation once, reads the 5 % label whole, and shows no slot for a rolling service', async () => {
    const heading = await page.locator(`${shop} [data-field="operation"]`).innerText();
    assert.match(heading, /^deploy op-[a-z0-9]+-[0-9a-f]{8}$/i, heading);
    assert.equal(heading.match(/deploy/gi)?.length, 1, `"${heading}" says deploy once`);

    const label = async () =>
      page.locator(`${shop} .split [data-role="canary"]`).evaluate((el) => {
        const range = el.ownerDocument.createRange();
        range.selectNodeContents(el);
        const text = range.getBoundingClientRect();
        const part = el.getBoundingClientRect();
        const bar = el.parentElement!.getBoundingClientRect();
        return {
          text: el.textContent,
          inside: text.left >= part.left - 0.5 && text.right <= part.right + 0.5,
          inBar: part.left >= bar.left - 0.5 && part.right <= bar.right + 0.5,
          overflow: el.scrollWidth - el.clientWidth,
        };
      });
    assert.deepEqual(await label(), { text: 'v3 5%', inside: true, inBar: true, overflow: 0 });
    await page.locator(`${shop} .split`).screenshot({ path: path.join(ARTIFACTS, 'dashboard-consistency-split.png') });

    const roles = await page.locator('[data-service="roll"] .release .role').allInnerTexts();
    assert.deepEqual(
      roles.map((r) => r.toLowerCase()),
      ['active'],
      'a rolling release has no slot to show',
    );
    const rolling = await runCli(['status', 'roll', '-c', h.configFile], { cwd: h.dir });
    assert.equal(rolling.code, 0, rolling.stderr);
    assert.match(rolling.stdout, /^ {2}active +v\S+ \(roll-\d+\) +instances/m, 'nor in `cutover status`');
    assert.doesNotMatch(rolling.stdout, /standby/, 'nor a standby line of "none"');
    assert.match(
      await page.locator('[data-service="web"] .release[data-role="active"] .role').innerText(),
      /slot (blue|green)/i,
      'a blue-green release still shows its slot',
    );

    // On a phone: the service with the running canary is the first card, on the first screen; the label is still whole.
    await page.setViewportSize(PHONE);
    await sleep(300);
    assert.equal(await page.locator('#services > .service').first().getAttribute('data-service'), 'shop');
    const card = await page.locator(shop).boundingBox();
    assert.ok(card && card.y < PHONE.height / 2, `the shop card starts on the first screen (y ${card?.y})`);
    const bar = await page.locator(`${shop} .split`).boundingBox();
    assert.ok(bar && bar.y + bar.height < PHONE.height, 'its traffic bar is above the fold');
    assert.deepEqual(await label(), { text: 'v3 5%', inside: true, inBar: true, overflow: 0 });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-consistency-phone.png') });
    await page.setViewportSize({ width: 1440, height: 1000 });
  });

  it('at 25 %, "observed" is the share of requests over a window it names, as the client counted them', async () => {
    await confirm('promote', /Promote shop\?/);
    await page.waitForSelector(`${shop} .split [data-role="canary"][data-weight="25"]`);
    // Past the point that spans the change (read at most a tick after it), which the observed split leaves out.
    await sleep(2000);
    // 640 requests (users u1..u640), as 80 req/s for 8 s sent before, in half the time: the count the
    // share is judged on, not the duration, is what the ±7 points below need.
    const load = shopTraffic(160);
    await sleep(4000);
    const client = await load.stop();
    assert.equal(client.failed, 0, client.firstErrors.join('\n'));
    const observed = page.locator(`${shop} [data-field="observed"]`);
    // The proxy counted every request the client sent, no more: the counts of the window are complete.
    const deadline = Date.now() + 5000;
    while ((await observed.getAttribute('data-requests')) !== String(client.sent) && Date.now() < deadline)
      await sleep(100);
    assert.equal(await observed.getAttribute('data-requests'), String(client.sent));
    const text = await observed.innerText();
    assert.match(text, /^requests since the split changed \d+ s ago: v1 \d+% · v3 \d+% \([\d,]+ requests\)$/, text);
    const shares = JSON.parse((await observed.getAttribute('data-shares'))!) as Record<string, number>;
    const clientShare = ((client.byVersion.v3 ?? 0) / client.ok) * 100;
    assert.ok(
      Math.abs(shares['shop-3']! - clientShare) <= 0.2,
      `observed ${shares['shop-3']}% of requests to v3, the client counted ${clientShare.toFixed(2)}%`,
    );
    assert.ok(Math.abs(clientShare - 25) < 7, `about the weight: ${clientShare.toFixed(1)}% of ${client.ok} users`);
  });

  it('enables only the button that applies: Resume after a pause, Pause after a resume, Finish after promotion', async () => {
    assert.deepEqual(await enabledButtons(), ['promote', 'pause', 'abort']);
    await confirm('pause', /Pause shop\?/);
    await page.waitForSelector(`${shop} button[data-action="resume"]:enabled`);
    assert.deepEqual(await enabledButtons(), ['promote', 'resume', 'abort'], 'paused: Resume, not Pause');
    await page
      .locator(`${shop} .actions`)
      .screenshot({ path: path.join(ARTIFACTS, 'dashboard-consistency-paused.png') });
    await confirm('resume', /Resume shop\?/);
    await page.waitForSelector(`${shop} button[data-action="pause"]:enabled`);
    assert.deepEqual(await enabledButtons(), ['promote', 'pause', 'abort']);

    // The last step is 100 %: promoted, the post-promotion window opens and Finish ends it.
    await confirm('promote', /Promote shop\?/);
    await page.waitForSelector(`${shop} button[data-action="finish"]:enabled`, { timeout: 20_000 });
    assert.deepEqual(await enabledButtons(), ['finish', 'abort']);
    await confirm('finish', /Finish shop\?/);
    await page.waitForSelector(`${shop} [data-field="history"] tr:first-child .outcome-succeeded`);
    assert.deepEqual(await enabledButtons(), ['rollback']);
    const history = await h.client.request<{ operations: { id: string }[] }>('GET', '/api/v1/services/shop/history');
    const { events } = await h.client.request<{ events: { type: string; message: string }[] }>(
      'GET',
      `/api/v1/operations/${history.operations[0]!.id}`,
    );
    assert.ok(
      events.some((e) => e.type === 'deploy.window-finished' && / by dashboard:/.test(e.message)),
      JSON.stringify(events.map((e) => e.type)),
    );
    assert.deepEqual(pageErrors, [], 'no script error in the page');
  });
});
