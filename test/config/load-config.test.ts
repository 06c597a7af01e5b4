import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ConfigIssue } from '../../src/config/config-issues.js';
import { loadConfig, parseConfig } from '../../src/config/load-config.js';
import { CutoverError } from '../../src/core/errors.js';

const CONTRACT = `server:
  proxy: 127.0.0.1:8080      # where users' traffic arrives
  admin: 127.0.0.1:9900      # admin API (and later the dashboard)
  state_dir: .cutover
services:
  web:
    hosts: [web.localhost]
    default: true            # requests for unknown hosts go here
    runtime: process
    command: node server.js
    cwd: ./app
    env: { APP_VERSION: "\${VERSION}" }
    instances: 2
    health: { path: /health, interval: 1s, timeout: 1s, healthy_threshold: 1, start_period: 10s }
    strategy: blue-green
    drain_timeout: 10s
`;

/** Runs `parse` expecting CONFIG_INVALID and returns the issues it reported. */
function issuesOf(parse: () => unknown): { message: string; issues: ConfigIssue[] } {
  try {
    parse();
  } catch (error) {
    assert.ok(error instanceof CutoverError, `expected a CutoverError, got ${String(error)}`);
    assert.equal(error.code, 'CONFIG_INVALID');
    return { message: error.message, issues: error.details as ConfigIssue[] };
  }
  assert.fail('the config loaded, but it should have been refused');
}

function parse(text: string, env: NodeJS.ProcessEnv = {}) {
  return parseConfig(text, '/srv/site/cutover.yaml', { env });
}

describe('loadConfig: the contract file', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cutover-config-'));
    await mkdir(join(dir, 'app'));
    await writeFile(join(dir, 'cutover.yaml'), CONTRACT);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads with durations in ms, absolute paths and every default filled in', async () => {
    const config = await loadConfig(join(dir, 'cutover.yaml'), { env: { VERSION: 'must-not-be-used' } });
    assert.equal(config.file, join(dir, 'cutover.yaml'));
    assert.deepEqual(config.server, {
      proxy: { host: '127.0.0.1', port: 8080 },
      admin: { host: '127.0.0.1', port: 9900 },
      stateDir: join(dir, '.cutover'),
      swarm: { nodeAddresses: {} },
      router: 'proxy',
      redirectHttp: false,
      acme: { directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory' },
      trustedProxies: [],
      maxConnections: 10_000,
      // auto: one proxy process per core, at most 8.
      proxyWorkers: Math.min(availableParallelism(), 8),
      clientTimeouts: { headersMs: 10_000, requestMs: 300_000, keepAliveMs: 65_000 },
      logs: { maxBytes: 10 * 1024 * 1024, keep: 3 },
    });
    assert.deepEqual(Object.keys(config.services), ['web']);
    assert.deepEqual(config.services.web, {
      name: 'web',
      hosts: ['web.localhost'],
      default: true,
      runtime: 'process',
      command: 'node server.js',
      shell: false,
      inheritEnv: [],
      cwd: join(dir, 'app'),
      // ${VERSION} belongs to the runtime: left as written even when the environment has VERSION.
      env: { APP_VERSION: '${VERSION}' },
      envFiles: [],
      secrets: [],
      instances: 2,
      health: {
        check: { type: 'http', path: '/health', expectStatus: [200, 399] },
        intervalMs: 1000,
        timeoutMs: 1000,
        healthyThreshold: 1,
        unhealthyThreshold: 3,
        startPeriodMs: 10_000,
        restartAfter: 3,
      },
      strategy: {
        type: 'blue-green',
        autoSwitch: false,
        autoCleanup: false,
        scaleDownDelayMs: 600_000,
        deployTimeoutMs: 120_000,
        smoke: [],
        postPromotion: null,
        prePromotion: null,
        onInconclusive: 'pause',
      },
      drainTimeoutMs: 10_000,
      stopGracePeriodMs: 10_000,
      rollbackLimit: 5,
      maintenancePage: null,
      critical: false,
      database: null,
      traffic: {
        connectTimeoutMs: 5_000,
        responseHeadersTimeoutMs: 60_000,
        idleTimeoutMs: 60_000,
        connectionsPerInstance: 128,
        pendingPerInstance: 128,
        passiveHealth: { consecutiveFailures: 5, ejectionMs: 30_000, maxEjectionMs: 300_000 },
      },
    });
  });

  it('refuses a missing file with CONFIG_NOT_FOUND', async () => {
    await assert.rejects(loadConfig(join(dir, 'nope.yaml')), (error: unknown) => {
      assert.ok(error instanceof CutoverError);
      assert.equal(error.code, 'CONFIG_NOT_FOUND');
      assert.match(error.message, /nope\.yaml/);
      return true;
    });
  });

  it('resolves relative paths against the working directory when there is no file', () => {
    const config = parseConfig('services: { web: { command: x } }', null, { env: {} });
    assert.equal(config.file, null);
    assert.equal(config.services.web?.cwd, process.cwd());
    assert.equal(config.server.stateDir, join(process.cwd(), '.cutover'));
  });
});

describe('parseConfig: every problem at once, with its place', () => {
  const INVALID = [
    'services:', //                       1
    '  web:', //                          2
    '    hosts: [web.localhost]', //      3
    '    comand: node server.js', //      4  unknown key (and so no command)
    '    instances: two', //              5  wrong type
    '  api:', //                          6
    '    command: node api.js', //        7
    '    hosts: [web.localhost]', //      8  duplicate host
    '',
  ].join('\n');

  it('reports the unknown key, the wrong type, the missing command and the duplicate host', () => {
    const { message, issues } = issuesOf(() => parseConfig(INVALID, 'cutover.yaml', { env: {} }));
    const byPath = new Map(issues.map((issue) => [issue.path, issue]));
    assert.deepEqual([...byPath.keys()].sort(), [
      'services.api.hosts[0]',
      'services.web.comand',
      'services.web.command',
      'services.web.instances',
    ]);

    assert.deepEqual(byPath.get('services.web.comand'), {
      path: 'services.web.comand',
      message: 'unknown key; did you mean "command"?',
      line: 4,
      column: 5,
    });
    assert.deepEqual(byPath.get('services.web.instances'), {
      path: 'services.web.instances',
      message: 'expected a whole number ≥ 1, got "two"',
      line: 5,
      column: 16,
    });
    // A missing key has no place of its own: it points at the service that lacks it.
    assert.equal(byPath.get('services.web.command')?.line, 2);
    assert.match(byPath.get('services.web.command')?.message ?? '', /required/);
    assert.deepEqual(byPath.get('services.api.hosts[0]'), {
      path: 'services.api.hosts[0]',
      message: 'host "web.localhost" is already used by service "web"',
      line: 8,
      column: 13,
    });

    // The message lists them one per line, in file order, with file:line:column.
    const lines = message.split('\n');
    assert.equal(lines[0], 'cutover.yaml has 4 problems:');
    assert.equal(lines[2], '  services.web.comand: unknown key; did you mean "command"? (cutover.yaml:4:5)');
    assert.equal(lines[3], '  services.web.instances: expected a whole number ≥ 1, got "two" (cutover.yaml:5:16)');
    assert.equal(
      lines[4],
      '  services.api.hosts[0]: host "web.localhost" is already used by service "web" (cutover.yaml:8:13)',
    );
  });

  it('reports a YAML syntax error with its line', () => {
    // The classic: an unquoted ": " inside a value.
    const { message, issues } = issuesOf(() => parse('services:\n  web:\n    command: echo a: b\n'));
    assert.equal(issues.length, 1);
    assert.equal(issues[0]?.line, 3);
    assert.match(message, /YAML syntax error: .*\(\/srv\/site\/cutover\.yaml:3:\d+\)/);
    assert.equal(issuesOf(() => parse('services:\n  web:\n\tcommand: a\n')).issues[0]?.line, 3);
  });

  it('refuses duplicate keys as a syntax error', () => {
    const { issues } = issuesOf(() => parse('services:\n  web:\n    command: a\n    command: b\n'));
    assert.equal(issues[0]?.line, 4);
  });

  it('refuses an empty file and an empty services map', () => {
    assert.match(issuesOf(() => parse('')).message, /expected a map with server and services/);
    assert.match(issuesOf(() => parse('services: {}')).message, /services: expected at least one service/);
  });

  it('checks service names, defaults and hosts across services', () => {
    const { issues } = issuesOf(() =>
      parse(
        [
          'services:',
          '  Web_1: { command: a, default: true }',
          '  api: { command: b, default: true, hosts: [API.example.com, api.example.com] }',
          '  idle: { command: c, hosts: [] }',
          '',
        ].join('\n'),
      ),
    );
    const messages = Object.fromEntries(issues.map((issue) => [issue.path, issue.message]));
    assert.match(messages['services.Web_1'] ?? '', /lowercase letters, digits and hyphens/);
    assert.equal(issues.find((issue) => issue.path === 'services.Web_1')?.column, 3);
    assert.equal(messages['services.api.default'], 'only one service can be the default, and "Web_1" already is');
    assert.equal(
      messages['services.api.hosts[1]'],
      'host "api.example.com" is already used by this service (listed twice)',
    );
    assert.match(messages['services.idle.hosts'] ?? '', /at least one host/);
  });

  it('catches a default host taken by another service', () => {
    const { issues } = issuesOf(() =>
      parse('services:\n  web: { command: a }\n  api: { command: b, hosts: [web.localhost] }\n'),
    );
    assert.equal(issues[0]?.path, 'services.api.hosts[0]');
  });

  it('refuses contradicting health settings and the proxy and admin on one port', () => {
    const { issues } = issuesOf(() =>
      parse(
        [
          'server: { proxy: 127.0.0.1:9000, admin: 0.0.0.0:9000 }',
          'services:',
          '  web:',
          '    command: a',
          '    health: { type: tcp, path: /x, retries: 2, unhealthy_threshold: 2 }',
          '',
        ].join('\n'),
      ),
    );
    assert.deepEqual(
      issues.map((issue) => issue.path),
      ['server.admin', 'services.web.health.path', 'services.web.health.retries'],
    );
  });

  it('gives a did-you-mean for camelCase and misspelt keys, and the list otherwise', () => {
    const { issues } = issuesOf(() =>
      parse('services:\n  web:\n    command: a\n    drainTimeout: 5s\n    helth: {}\n    zzz: 1\n'),
    );
    const messages = issues.map((issue) => `${issue.path}: ${issue.message}`);
    assert.ok(
      messages.includes('services.web.drainTimeout: unknown key; did you mean "drain_timeout"?'),
      messages.join('\n'),
    );
    assert.ok(messages.includes('services.web.helth: unknown key; did you mean "health"?'), messages.join('\n'));
    assert.match(
      messages.find((text) => text.startsWith('services.web.zzz')) ?? '',
      /expected one of hosts, default, runtime, command/,
    );
  });

  it('points a bad shorthand at its value', () => {
    const { issues } = issuesOf(() => parse('services:\n  web:\n    command: a\n    strategy: rainbow\n'));
    assert.deepEqual(issues, [
      {
        path: 'services.web.strategy.type',
        message: 'expected "blue-green", "canary", "rolling" or "recreate", got "rainbow"',
        line: 4,
        column: 15,
      },
    ]);
  });
});

describe('parseConfig: health, strategy and defaults', () => {
  it('makes the only service the default, but not one of two', () => {
    assert.equal(parse('services: { web: { command: a } }').services.web?.default, true);
    assert.equal(parse('services: { web: { command: a, default: false } }').services.web?.default, false);
    const two = parse('services: { web: { command: a }, api: { command: b } }');
    assert.equal(two.services.web?.default, false);
    assert.deepEqual(two.services.api?.hosts, ['api.localhost']);
  });

  it('picks the health check kind from type, tcp or command', () => {
    const health = (text: string) => parse(`services: { web: { command: a, health: ${text} } }`).services.web?.health;
    assert.deepEqual(health('{ tcp: true }')?.check, { type: 'tcp' });
    assert.deepEqual(health('{ command: "curl -f localhost:$PORT" }')?.check, {
      type: 'command',
      command: 'curl -f localhost:$PORT',
      inheritEnv: [],
    });
    assert.deepEqual(health('{ type: http, path: /up, expect_status: 2xx }')?.check, {
      type: 'http',
      path: '/up',
      expectStatus: [200, 299],
    });
    assert.deepEqual(health('{ expect_status: [200, 204] }')?.check, {
      type: 'http',
      path: '/health',
      expectStatus: [200, 204],
    });
    assert.equal(health('{ retries: 7 }')?.unhealthyThreshold, 7);
  });

  it('reads the strategy map with smoke checks in short and long form', () => {
    const strategy = parse(
      'services: { web: { command: a, strategy: { auto_switch: true, scale_down_delay: 0, timeout: 1m30s, smoke: [/ping, { path: /deep, method: HEAD, expect_status: 204, timeout: 500ms }] } } }',
    ).services.web?.strategy;
    assert.deepEqual(strategy, {
      type: 'blue-green',
      autoSwitch: true,
      autoCleanup: false,
      scaleDownDelayMs: 0,
      deployTimeoutMs: 90_000,
      smoke: [
        { path: '/ping', method: 'GET', expectStatus: [200, 399], timeoutMs: 5000 },
        { path: '/deep', method: 'HEAD', expectStatus: [204, 204], timeoutMs: 500 },
      ],
      postPromotion: null,
      prePromotion: null,
      onInconclusive: 'pause',
    });
  });

  it('turns env numbers and booleans into strings, and lowercases hosts', () => {
    const web = parse(
      'services: { web: { command: a, env: { PORT_HINT: 3000, DEBUG: true }, hosts: [Web.Example.COM] } }',
    ).services.web;
    assert.deepEqual(web?.env, { PORT_HINT: '3000', DEBUG: 'true' });
    assert.deepEqual(web?.hosts, ['web.example.com']);
  });
});

describe('parseConfig: environment references', () => {
  it('fills ${NAME} and ${NAME:-default} from the given env, leaving runtime placeholders and $${...}', () => {
    const web = parse(
      [
        'services:',
        '  web:',
        '    command: node server.js --port ${PORT} --slot ${SLOT} --home $${HOME}',
        '    shell: true',
        '    env:',
        '      DATABASE_URL: "${DATABASE_URL}"',
        '      REGION: "${REGION:-eu}"',
        '      LABEL: "v${VERSION}-${INSTANCE}"',
        '',
      ].join('\n'),
      { DATABASE_URL: 'postgres://db/app', PORT: '1', SLOT: 'x', HOME: '/root' },
    ).services.web;
    assert.equal(web?.command, 'node server.js --port ${PORT} --slot ${SLOT} --home ${HOME}');
    assert.deepEqual(web?.env, { DATABASE_URL: 'postgres://db/app', REGION: 'eu', LABEL: 'v${VERSION}-${INSTANCE}' });
  });

  it('gives an unquoted reference the type its value reads as', () => {
    const web = parse(
      'services:\n  web:\n    command: a\n    instances: ${INSTANCES:-3}\n    env: { N: "${INSTANCES:-3}" }\n',
    ).services.web;
    assert.equal(web?.instances, 3);
    assert.deepEqual(web?.env, { N: '3' });
  });

  it('reports an unset variable at the field that uses it', () => {
    const { issues } = issuesOf(() =>
      parse(
        'services:\n  web:\n    command: a\n    env:\n      DATABASE_URL: "${DATABASE_URL}"\n    cwd: "${APP_DIR}/x"\n',
      ),
    );
    assert.deepEqual(
      issues.map((issue) => [issue.path, issue.line]),
      [
        ['services.web.env.DATABASE_URL', 5],
        ['services.web.cwd', 6],
      ],
    );
    assert.match(issues[0]?.message ?? '', /DATABASE_URL is not set/);
    assert.match(issues[1]?.message ?? '', /APP_DIR is not set/);
  });

  it('reports a malformed reference', () => {
    const { issues } = issuesOf(() => parse('services:\n  web:\n    command: "echo ${not valid}"\n'));
    assert.equal(issues[0]?.path, 'services.web.command');
    assert.match(issues[0]?.message ?? '', /not a valid reference/);
  });
});

describe('the database section', () => {
  it('resolves its defaults and refuses a URL that is not PostgreSQL, naming the field', async () => {
    const { parseConfig } = await import('../../src/config/load-config.js');
    const base = 'services:\n  web:\n    command: node server.js\n    database:\n';
    const config = parseConfig(
      `${base}      url: postgres://app:pw@127.0.0.1:5432/app\n      migrations: ./db\n`,
      '/srv/app/cutover.yaml',
    );
    assert.deepEqual(config.services.web!.database, {
      url: 'postgres://app:pw@127.0.0.1:5432/app',
      migrations: '/srv/app/db',
      lint: true,
      backupBeforeDeploy: true,
      backupsKept: 5,
      lockTimeoutMs: 5_000,
      statementTimeoutMs: 300_000,
      lockRetries: 3,
      waitForLockMs: 60_000,
      autoContract: true,
      commands: { expand: null, contract: null },
    });
    assert.throws(
      () => parseConfig(`${base}      url: mysql://127.0.0.1/app\n`, '/srv/app/cutover.yaml'),
      /services\.web\.database\.url: expected a PostgreSQL URL/,
    );
    assert.throws(
      () =>
        parseConfig(`${base}      url: postgres://127.0.0.1/app\n      lock_timeout: soon\n`, '/srv/app/cutover.yaml'),
      /services\.web\.database\.lock_timeout/,
    );
  });
});

describe('the server section alone (what the CLI loads to reach the server)', () => {
  const file = `server:
  admin: \${ADMIN:-127.0.0.1:9911}
  state_dir: /srv/cutover
services:
  web:
    command: node server.js
    database:
      url: \${DATABASE_URL}
`;

  it('needs none of the variables the services use', () => {
    const config = parseConfig(file, '/srv/app/cutover.yaml', { env: {}, serverOnly: true });
    assert.deepEqual(config.server.admin, { host: '127.0.0.1', port: 9911 });
    assert.equal(config.server.stateDir, '/srv/cutover');
    assert.deepEqual(config.services, {}, 'the services are the server to resolve');
  });

  it('still resolves and checks what it loads', () => {
    const withAdmin = file.replace('${ADMIN:-127.0.0.1:9911}', '${ADMIN}');
    assert.throws(
      () => parseConfig(withAdmin, '/srv/app/cutover.yaml', { env: {}, serverOnly: true }),
      /server\.admin: environment variable ADMIN is not set/,
    );
    assert.deepEqual(
      parseConfig(withAdmin, '/srv/app/cutover.yaml', { env: { ADMIN: ':9922' }, serverOnly: true }).server.admin,
      { host: '127.0.0.1', port: 9922 },
    );
  });

  it('leaves the whole file to the server, which names the missing variable and its field', () => {
    assert.throws(
      () => parseConfig(file, '/srv/app/cutover.yaml', { env: {} }),
      /services\.web\.database\.url: environment variable DATABASE_URL is not set/,
    );
  });
});

describe('parseConfig with services: only what the command uses is resolved', () => {
  const TWO = `services:
  web:
    hosts: [web.localhost]
    command: node server.js
    database: { url: "\${WEB_DATABASE_URL}", migrations: ./migrations }
  api:
    hosts: [api.localhost]
    command: node server.js
    env: { API_KEY: "\${API_KEY}" }
`;
  const env = { WEB_DATABASE_URL: 'postgres://app:pw@127.0.0.1:5432/web' };

  it("loads one service without another's secret, which the whole file needs", () => {
    const message = issuesOf(() => parse(TWO, env)).message;
    assert.match(message, /API_KEY/);
    const config = parseConfig(TWO, '/srv/site/cutover.yaml', { env, services: ['web'] });
    assert.deepEqual(Object.keys(config.services), ['web']);
    assert.equal(config.services.web?.database?.url, env.WEB_DATABASE_URL);
  });

  it("still refuses the chosen service's own missing secret, naming it", () => {
    const { issues } = issuesOf(() => parseConfig(TWO, '/srv/site/cutover.yaml', { env: {}, services: ['web'] }));
    assert.ok(
      issues.some((issue) => issue.path === 'services.web.database.url' && /WEB_DATABASE_URL/.test(issue.message)),
    );
    assert.ok(!issues.some((issue) => issue.path.startsWith('services.api')));
  });

  it('refuses a name the file does not hold with the names it does', () => {
    assert.throws(
      () => parseConfig(TWO, '/srv/site/cutover.yaml', { env, services: ['wbe'] }),
      (error: unknown) => {
        assert.ok(error instanceof CutoverError);
        assert.equal(error.code, 'SERVICE_NOT_FOUND');
        assert.match(error.message, /wbe/);
        assert.match(error.hint ?? '', /web, api/);
        return true;
      },
    );
  });
});
