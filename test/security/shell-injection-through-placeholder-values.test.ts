import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CommandProvider } from '../../src/analysis/command-provider.js';
import { commandCheck } from '../../src/health/command-check.js';
import { runMigrationCommand } from '../../src/migrate/migration-command.js';
import type { InstanceInfo, InstanceSpec } from '../../src/runtime/index.js';
import { ProcessRuntime } from '../../src/runtime/process/process-runtime.js';

/**
 * Issue 12, finding 1, below the API: whatever a value holds (a version
 * recorded before the version grammar existed, a service or release name),
 * no command cutover runs may read it as shell syntax. A command without
 * `shell: true` gets it inside one argument; a shell script (`shell: true`,
 * command health checks, command analysis, database hooks) reads it from its
 * environment, and its text is never spliced with it.
 */
describe('shell injection through placeholder values', () => {
  let trap: string;
  let runtime: ProcessRuntime;
  const payloads = (name: string): string[] => [
    `v$(touch ${trap}/${name}-subst)`,
    `v\`touch ${trap}/${name}-backtick\``,
    `v;touch ${trap}/${name}-semicolon`,
  ];

  before(() => {
    trap = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-trap-'));
    runtime = new ProcessRuntime({ logDir: path.join(trap, '..', `${path.basename(trap)}-logs`) });
  });

  after(async () => {
    await runtime.close();
    fs.rmSync(trap, { recursive: true, force: true });
    fs.rmSync(path.join(trap, '..', `${path.basename(trap)}-logs`), { recursive: true, force: true });
  });

  /** The files a test's payloads would have created (each test has its own prefix). */
  const ranPayloads = (name: string): string[] => fs.readdirSync(trap).filter((file) => file.startsWith(`${name}-`));

  let index = 0;
  const spec = (overrides: Partial<InstanceSpec>): InstanceSpec => ({
    service: 'web',
    releaseId: 'web-1',
    version: 'v1',
    slot: 'blue',
    index: index++,
    command: 'true',
    cwd: os.tmpdir(),
    env: {},
    stopGracePeriodMs: 2000,
    ...overrides,
  });

  async function logOnceContains(info: InstanceInfo, text: string): Promise<string> {
    for (const deadline = Date.now() + 10_000; ; await new Promise((resolve) => setTimeout(resolve, 50))) {
      const log = fs.readFileSync(info.logPath, 'utf8');
      if (log.includes(text)) return log;
      assert.ok(Date.now() < deadline, `the log never showed ${text}:\n${log}`);
    }
  }

  it('a command without shell: true gets the value inside one argument', async () => {
    for (const version of payloads('words')) {
      const info = await runtime.start(
        spec({
          version,
          command: `node -e "console.log('argv=' + JSON.stringify(process.argv.slice(1)))" -- --label=\${VERSION}`,
        }),
      );
      const log = await logOnceContains(info, 'argv=');
      assert.ok(log.includes(`argv=${JSON.stringify([`--label=${version}`])}`), log);
    }
    assert.deepEqual(ranPayloads('words'), [], 'no payload ran');
  });

  it('a shell: true command reads ${VERSION} from its environment, its text unchanged', async () => {
    for (const version of payloads('shell')) {
      const info = await runtime.start(
        spec({ version, shell: true, command: 'echo "label=${VERSION}" && echo "plain=$VERSION" && echo done' }),
      );
      const log = await logOnceContains(info, 'done');
      assert.ok(log.includes(`label=${version}\n`), log);
      assert.ok(log.includes(`plain=${version}\n`), log);
    }
    assert.deepEqual(ranPayloads('shell'), [], 'no payload ran');
  });

  it('a command health check gets the values as environment only', async () => {
    for (const version of payloads('health')) {
      const result = await commandCheck(
        { instanceId: 'web/web-1/blue-0', host: '127.0.0.1', port: 1, vars: { version, slot: 'blue', instance: '0' } },
        // The payload sits in single quotes in this script: literal, only compared with what arrived.
        {
          check: {
            type: 'command',
            command: `test "$VERSION" = '${version}' && test "\${VERSION}" = '${version}'`,
            inheritEnv: [],
          },
          timeoutMs: 5000,
        },
      );
      assert.equal(result.ok, true, result.detail);
    }
    assert.deepEqual(ranPayloads('health'), [], 'no payload ran');
  });

  it('a command analysis provider gets the service and release names as environment only', async () => {
    for (const name of payloads('analysis')) {
      const provider = new CommandProvider({ command: 'echo "$SERVICE|$CANARY_RELEASE"', timeoutMs: 5000 });
      const result = await provider.measure({
        service: name,
        canaryReleaseId: name,
        stableReleaseId: null,
        windowStart: 0,
      });
      assert.ok('value' in result, JSON.stringify(result));
      assert.deepEqual(result.value, { exitCode: 0, stdout: `${name}|${name}`, stderr: '' });
    }
    assert.deepEqual(ranPayloads('analysis'), [], 'no payload ran');
  });

  it('a database hook gets VERSION as environment only', async () => {
    for (const version of payloads('hook')) {
      const result = await runMigrationCommand({
        command: 'echo "migrating to $VERSION"',
        cwd: trap,
        timeoutMs: 5000,
        env: { VERSION: version },
      });
      assert.equal(result.output, `migrating to ${version}`);
    }
    assert.deepEqual(ranPayloads('hook'), [], 'no payload ran');
  });
});
