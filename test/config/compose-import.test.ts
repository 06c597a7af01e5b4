import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { parse } from 'yaml';
import { looksSecret } from '../../src/cli/commands/init-from-compose.js';
import { parseCompose } from '../../src/config/compose-file.js';
import { renderComposeImport } from '../../src/config/compose-render.js';
import { parseConfig } from '../../src/config/load-config.js';
import { mapCompose } from '../../src/core/compose-mapping.js';
import { CutoverError } from '../../src/core/errors.js';
import { CLI } from '../support/cutover-harness.js';

// The I/O half of `cutover init --from`: a Compose file that is not valid is
// refused with each problem's place, and whatever a Compose file holds comes
// out of the writer as the same strings, never as YAML of its own.

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-compose-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function problemsOf(text: string): string[] {
  try {
    parseCompose(text, 'docker-compose.yml');
  } catch (error) {
    assert.ok(error instanceof CutoverError);
    assert.equal(error.code, 'COMPOSE_INVALID');
    return (error.details as { problems: string[] }).problems;
  }
  assert.fail('the file was accepted');
}

describe('a Compose file that is not valid is refused with the place', () => {
  it('an unknown key and a wrong type: their path and line', () => {
    const problems = problemsOf(
      [
        'services:',
        '  web:',
        '    image: shop/web:1',
        '    prots: ["80:80"]',
        '    deploy:',
        '      replicas: [3]',
        '',
      ].join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('services.web.prots (line 4, column 5): not a key')),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('services.web.deploy.replicas (line 6, column 7)')),
      problems.join('\n'),
    );
  });

  it('a wrong value deep inside a oneOf names the value, not "must match exactly one schema"', () => {
    const problems = problemsOf(
      ['services:', '  web:', '    image: x', '    depends_on:', '      db: { condition: when_ready }', ''].join('\n'),
    );
    assert.ok(
      problems.some((p) => p.startsWith('services.web.depends_on.db.condition (line 5') && /service_healthy/.test(p)),
      problems.join('\n'),
    );
  });

  it('YAML errors and duplicate keys: their line', () => {
    assert.match(problemsOf('services:\n  web:\n    image: "unclosed\n')[0] ?? '', /line \d+/);
    assert.match(problemsOf('services:\n  web:\n    image: a\n    image: b\n')[0] ?? '', /unique.*line 4/);
    assert.match(problemsOf('- just\n- a list\n')[0] ?? '', /expected a map/);
  });

  it('accepts what Compose accepts today: name, merge keys, extension fields, long syntaxes', () => {
    const compose = parseCompose(
      [
        'name: shop',
        'x-env: &env { LOG_LEVEL: info }',
        'services:',
        '  web:',
        '    image: shop/web:1',
        '    environment: *env',
        '    ports: [{ target: 3000, published: "8080" }]',
        '    healthcheck: { test: ["CMD", "true"], start_interval: 1s }',
        '    develop: { watch: [{ path: ./src, action: sync, target: /app/src }] }',
        '',
      ].join('\n'),
      'docker-compose.yml',
    );
    assert.deepEqual((compose.services as { web: { environment: unknown } }).web.environment, { LOG_LEVEL: 'info' });
  });

  it('the CLI exits 2, prints the place, and writes nothing', () => {
    const file = path.join(dir, 'broken.yml');
    fs.writeFileSync(file, 'services:\n  web:\n    image: shop/web:1\n    healthcheck: { tset: [CMD, "true"] }\n');
    const out = path.join(dir, 'broken-out');
    const run = spawnSync(process.execPath, [CLI, 'init', '--from', file, '--dir', out], { encoding: 'utf8' });
    assert.equal(run.status, 2, run.stderr);
    assert.match(run.stderr, /COMPOSE_INVALID/);
    assert.match(run.stderr, /services\.web\.healthcheck\.tset \(line 4, column 20\)/);
    assert.equal(fs.existsSync(path.join(out, 'cutover.yaml')), false);
    const unknown = spawnSync(process.execPath, [CLI, 'init', '--from', file, '--dir', out, '--service', 'nope'], {
      encoding: 'utf8',
    });
    assert.notEqual(unknown.status, 0);
  });
});

describe('Compose interpolation without a default', () => {
  it('init writes a config that loads, and names every ${NAME} the server must set', () => {
    // Compose fills ${NAME} from the shell it runs in; the runbooks' files lean on it for the
    // registry, API bases and the like. cutover.yaml keeps the reference, so init must list it.
    const file = path.join(dir, 'interpolated.yml');
    fs.writeFileSync(
      file,
      [
        'services:',
        '  web:',
        '    image: shop/web:1',
        '    ports: ["8080:3000"]',
        '    command: ["node", "server.js", "--upstream", "$UPSTREAM_HOST"]',
        '    environment:',
        '      API_BASE: ${API_BASE}',
        '      REGION: ${REGION:?set the region}',
        '      LOG_LEVEL: ${LOG_LEVEL:-info}',
        '      LISTEN: ":${PORT}"',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'interpolated-out');
    const run = spawnSync(process.execPath, [CLI, 'init', '--from', file, '--dir', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /set in the server's environment: API_BASE, REGION, UPSTREAM_HOST\n/);
    const text = fs.readFileSync(path.join(out, 'cutover.yaml'), 'utf8');
    assert.match(
      text,
      /# Set before `cutover server` \(their values were not copied here\): API_BASE, REGION, UPSTREAM_HOST\n/,
    );
    // With those set, as the header asks, it loads; PORT stays cutover's own placeholder.
    const env = { UPSTREAM_HOST: 'up.internal', API_BASE: 'https://api.example.com', REGION: 'eu' };
    const web = parseConfig(text, path.join(out, 'cutover.yaml'), { env }).services.web;
    assert.equal(web?.env.API_BASE, 'https://api.example.com');
    assert.equal(web?.env.REGION, 'eu');
    assert.equal(web?.env.LOG_LEVEL, 'info');
    assert.equal(web?.env.LISTEN, ':${PORT}');
  });
});

describe('durations of 0, which Compose accepts', () => {
  it('init writes a config that loads, with cutover’s defaults and a note for each', () => {
    // Docker reads a healthcheck interval or timeout of 0 as its default; cutover refuses 0 there.
    const file = path.join(dir, 'zero-durations.yml');
    fs.writeFileSync(
      file,
      [
        'services:',
        '  web:',
        '    image: shop/web:1',
        '    ports: ["8080:3000"]',
        '    healthcheck: { test: [CMD, curl, "http://localhost:3000/h"], interval: 0s, timeout: 0m0s, start_period: 0s }',
        '    stop_grace_period: 0s',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'zero-durations-out');
    const run = spawnSync(process.execPath, [CLI, 'init', '--from', file, '--dir', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const text = fs.readFileSync(path.join(out, 'cutover.yaml'), 'utf8');
    const web = parseConfig(text, path.join(out, 'cutover.yaml'), { env: {} }).services.web;
    assert.ok(web && web.health.intervalMs > 0 && web.health.timeoutMs > 0, JSON.stringify(web?.health));
    for (const place of ['healthcheck.interval', 'healthcheck.timeout', 'stop_grace_period'])
      assert.match(text, new RegExp(`# - services\\.web\\.${place.replace('.', '\\.')}: 0`), place);
  });
});

describe('values Compose allows and cutover refuses', () => {
  it('are left out with a note naming cutover’s objection; the rest is written and loads', () => {
    const file = path.join(dir, 'refused.yml');
    fs.writeFileSync(
      file,
      [
        'services:',
        '  web:',
        '    image: shop/web:1',
        '    ports: ["8080:3000"]',
        '    command: ""',
        '    healthcheck: { test: [CMD, curl, "http://localhost:3000/h"], interval: 9999h, timeout: 2s }',
        '    deploy:',
        '      resources: { limits: { memory: "0", cpus: "0.5" } }',
        '      update_config: { parallelism: 1, max_failure_ratio: 2 }',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'refused-out');
    const run = spawnSync(process.execPath, [CLI, 'init', '--from', file, '--dir', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const text = fs.readFileSync(path.join(out, 'cutover.yaml'), 'utf8');
    const web = parseConfig(text, path.join(out, 'cutover.yaml'), { env: {} }).services.web;
    assert.ok(web);
    assert.equal(web.health.timeoutMs, 2000);
    assert.equal(web.docker?.cpus, 0.5);
    for (const key of ['command', 'health.interval', 'resources.memory', 'strategy.max_failure_ratio'])
      assert.ok(text.includes(`# - services.web: cutover refuses the value mapped to its ${key}: expected`), key);
  });
});

describe('services that share a host', () => {
  it('init writes web on the host and api on its path, and the config loads', () => {
    const file = path.join(dir, 'shared-host.yml');
    fs.writeFileSync(
      file,
      [
        'services:',
        '  web:',
        '    image: shop/web:1',
        '    ports: ["80:3000"]',
        '    labels: ["traefik.http.routers.web.rule=Host(`shop.example.com`)"]',
        '  api:',
        '    image: shop/api:1',
        '    ports: ["81:3000"]',
        '    labels: ["traefik.http.routers.api.rule=Host(`shop.example.com`) && PathPrefix(`/api`)"]',
        '',
      ].join('\n'),
    );
    const out = path.join(dir, 'shared-host-out');
    const run = spawnSync(process.execPath, [CLI, 'init', '--from', file, '--dir', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const config = parseConfig(fs.readFileSync(path.join(out, 'cutover.yaml'), 'utf8'), null, { env: {} });
    assert.deepEqual(config.services.web?.hosts, ['shop.example.com']);
    assert.deepEqual(
      config.services.api?.paths?.map((r) => [r.host, r.prefix]),
      [['shop.example.com', '/api']],
    );
  });
});

describe('hostile Compose values come out as the same strings', () => {
  const nasty = {
    NEWLINES: 'line1\nline2\n  injected: true',
    HASH: 'a # not a comment',
    ALIAS: '*alias',
    ANCHOR: '&anchor value',
    MAPPING: 'key: value',
    DASH: '- item',
    BRACES: '{{ template }}',
    QUOTES: `it's "quoted"`,
    PIPE: '|',
    BOM: '\ufeffstart',
    TAB: 'a\tb',
  };
  const compose = {
    services: {
      'we.b': {
        image: 'shop/web:1',
        ports: ['80:80'],
        environment: { ...nasty, 'BAD NAME\ninjected: true': 'x' },
        labels: { 'traefik.http.routers.x.rule': 'Host(`shop.example.com\n  injected: true`)' },
        healthcheck: { test: ['CMD', 'curl', 'http://localhost/health\n# injected'] },
      },
    },
  };

  it('renders a file whose values parse back exactly, with no key the file did not ask for', () => {
    const imported = mapCompose(compose, {
      runtime: 'docker',
      only: null,
      isSecret: looksSecret,
      rebasePath: (p) => p,
    });
    const text = renderComposeImport(imported, 'compose\n  injected: true.yml');
    const back = parse(text) as { services: Record<string, { env: Record<string, string> }> };
    assert.deepEqual(Object.keys(back).sort(), ['server', 'services']);
    assert.deepEqual(Object.keys(back.services), ['we-b']);
    assert.deepEqual(back.services['we-b']?.env, nasty);
    // Every `injected: true` in the text is in a comment or is the content of the NEWLINES block scalar.
    const lines = text.split('\n').filter((line) => line.includes('injected: true'));
    assert.equal(lines.length, 4, text);
    for (const line of lines) assert.ok(line.trimStart().startsWith('#') || line === '          injected: true', line);
    // The names cutover cannot take are named in the notes, on one comment line each.
    assert.match(text, /# - services\.we\.b\.environment\.BAD NAME injected: true: not an environment variable name/);
    // And the file loads as a cutover config.
    const config = parseConfig(text, path.join(dir, 'cutover.yaml'), { env: {} });
    assert.equal(config.services['we-b']?.env.NEWLINES, nasty.NEWLINES);
  });

  it('looksSecret: by name like the redactor, and by credentials inside a value', () => {
    assert.equal(looksSecret('STRIPE_KEY', 'sk'), true);
    assert.equal(looksSecret('UPSTREAM', 'https://user:pw@api.example.com'), true);
    assert.equal(looksSecret('WEBHOOK', 'https://hooks.example.com/x?token=abc'), true);
    assert.equal(looksSecret('NODE_ENV', 'production'), false);
    assert.equal(looksSecret('UPSTREAM', 'https://api.example.com/v1'), false);
  });

  it('init copies no credential by its shape, whatever the variable is called', () => {
    // Made-up values in the published formats; the names pass the name rule.
    const credentials = {
      STRIPE_SK: 'sk_live_51HxAbCdEfGhIjKlMnOpQrStUv',
      GH_PAT: 'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      SLACK_HOOK: 'https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX',
      AWS_ID: 'AKIAIOSFODNN7EXAMPLE',
      SIGNING: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJl',
      TLS_PEM: '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
    };
    const file = path.join(dir, 'credentials.yml');
    fs.writeFileSync(
      file,
      JSON.stringify({
        services: { web: { image: 'shop/web:1', ports: ['80:80'], environment: { ...credentials, NODE_ENV: 'prod' } } },
      }),
    );
    const out = path.join(dir, 'credentials-out');
    const run = spawnSync(process.execPath, [CLI, 'init', '--from', file, '--dir', out], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const text = fs.readFileSync(path.join(out, 'cutover.yaml'), 'utf8');
    for (const value of Object.values(credentials)) assert.ok(!text.includes(value.split('\n')[0] as string), value);
    const names = Object.keys(credentials);
    const env = Object.fromEntries(names.map((name) => [name, `filled-${name}`]));
    const config = parseConfig(text, path.join(out, 'cutover.yaml'), { env });
    for (const name of names) assert.equal(config.services.web?.env[name], `filled-${name}`);
    assert.equal(config.services.web?.env.NODE_ENV, 'prod');
    // Listed under secrets:, so the values the server fills in are redacted like a secret-named variable's.
    for (const name of names) assert.ok(config.secretValues?.includes(`filled-${name}`), name);
  });
});
