import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { parseConfig } from '../../src/config/load-config.js';
import { isCutoverError } from '../../src/core/errors.js';
import { findFreePort } from '../../src/runtime/process/free-port.js';
import { startServer } from '../../src/server/start-server.js';
import { runCli } from '../support/cli-process.js';
import { configYaml, silentLogger, startHarness, type Harness } from '../support/cutover-harness.js';

/**
 * Finding 11 of issue 12: any CUTOVER_TOKEN was accepted (even `a`), and
 * nothing slowed guessing (2,000 wrong dashboard logins in 2.3 s). A token
 * under 32 characters now stops the server at start, naming the variable
 * (or file) and how to make a strong one; after 10 failed attempts within a
 * minute an address gets 429 with Retry-After, on the API and on the
 * dashboard login, whatever it sends, until it cools down.
 *
 * Other loopback addresses (127.0.0.2, ...) stand in for other clients: the
 * throttle goes by the socket's address, which a client cannot forge.
 */
const fromAddress = (localAddress: string): Agent => new Agent({ localAddress });

describe('token guessing through logins and bearer tokens', () => {
  describe('weak tokens are refused at start', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-weak-token-'));
    after(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const config = async (name: string): Promise<{ file: string; stateDir: string }> => {
      const sub = path.join(dir, name);
      fs.mkdirSync(sub);
      const file = path.join(sub, 'cutover.yaml');
      fs.writeFileSync(
        file,
        await configYaml(sub, { instances: 1 }, { proxy: await findFreePort(), admin: await findFreePort() }),
      );
      return { file, stateDir: path.join(sub, 'state') };
    };

    it('refuses CUTOVER_TOKEN=a with TOKEN_TOO_WEAK naming the variable and openssl rand', async () => {
      const { file } = await config('admin-env');
      const result = await runCli(['server', '--config', file], {
        cwd: dir,
        env: { CUTOVER_TOKEN: 'a' },
        timeoutMs: 30_000,
      });
      assert.equal(result.code, 2, `a config error (exit 2): ${result.stderr}`);
      assert.match(
        result.stderr,
        /TOKEN_TOO_WEAK: the token in CUTOVER_TOKEN is 1 characters long; the server needs at least 32/,
      );
      assert.match(result.stderr, /openssl rand -hex 32/);
    });

    it('refuses a short CUTOVER_SDK_TOKEN and a short token in the state directory, and accepts 32 characters', async () => {
      const sdk = await config('sdk-env');
      const parsed = parseConfig(fs.readFileSync(sdk.file, 'utf8'), sdk.file);
      await assert.rejects(
        startServer(parsed, { logger: silentLogger, env: { CUTOVER_SDK_TOKEN: 'x'.repeat(31) } }),
        (error) =>
          isCutoverError(error) &&
          error.code === 'TOKEN_TOO_WEAK' &&
          /CUTOVER_SDK_TOKEN is 31 characters/.test(error.message),
      );

      const file = await config('admin-file');
      fs.mkdirSync(file.stateDir, { recursive: true });
      fs.writeFileSync(path.join(file.stateDir, 'admin-token'), 'hunter2\n');
      const fromFile = parseConfig(fs.readFileSync(file.file, 'utf8'), file.file);
      await assert.rejects(
        startServer(fromFile, { logger: silentLogger, env: {} }),
        (error) =>
          isCutoverError(error) &&
          error.code === 'TOKEN_TOO_WEAK' &&
          error.message.includes(path.join(file.stateDir, 'admin-token')),
      );

      const strong = 'b'.repeat(32);
      const server = await startServer(parsed, {
        logger: silentLogger,
        env: { CUTOVER_TOKEN: strong, CUTOVER_SDK_TOKEN: 'c'.repeat(40) },
      });
      try {
        assert.equal(server.token, strong);
      } finally {
        await server.close();
      }
    });
  });

  describe('failed attempts are throttled per client address', () => {
    let h: Harness;
    const agents: Agent[] = [];
    const client = (address: string): Agent => {
      const agent = fromAddress(address);
      agents.push(agent);
      return agent;
    };
    before(async () => {
      h = await startHarness({ instances: 1 });
    });
    after(async () => {
      await Promise.all(agents.map((agent) => agent.close()));
      await h?.close();
    });

    const api = async (
      dispatcher: Agent,
      token: string,
    ): Promise<{ status: number; retryAfter: string | undefined; code: string | undefined; message: string }> => {
      const response = await request(`${h.server.adminUrl}/api/v1/services`, {
        dispatcher,
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await response.body.json()) as { error?: { code: string; message: string } };
      return {
        status: response.statusCode,
        retryAfter: response.headers['retry-after'] as string | undefined,
        code: body.error?.code,
        message: body.error?.message ?? '',
      };
    };
    const login = async (
      dispatcher: Agent,
      token: string,
    ): Promise<{ status: number; retryAfter: string | undefined; text: string }> => {
      const response = await request(`${h.server.adminUrl}/dashboard/login`, {
        method: 'POST',
        dispatcher,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }).toString(),
      });
      return {
        status: response.statusCode,
        retryAfter: response.headers['retry-after'] as string | undefined,
        text: await response.body.text(),
      };
    };

    it('answers 429 with Retry-After after 10 wrong bearer tokens, even to the right token, and the CLI says why', async () => {
      const guesser = client('127.0.0.1');
      for (let i = 0; i < 10; i++) assert.equal((await api(guesser, `guess-${i}`)).status, 401, `guess ${i}`);
      for (let i = 0; i < 50; i++) {
        const refused = await api(guesser, `guess-more-${i}`);
        assert.equal(refused.status, 429);
        assert.equal(refused.code, 'TOO_MANY_REQUESTS');
        assert.ok(
          Number(refused.retryAfter) >= 1 && Number(refused.retryAfter) <= 60,
          `Retry-After ${refused.retryAfter}`,
        );
      }
      assert.equal((await api(guesser, h.server.token)).status, 429, 'a right guess is not told apart while throttled');
      assert.equal((await login(guesser, h.server.token)).status, 429, 'the dashboard login shares the budget');
      assert.equal((await api(client('127.0.0.2'), h.server.token)).status, 200, 'another address is not locked out');

      const cli = await runCli(['status'], {
        cwd: h.dir,
        env: { CUTOVER_URL: h.server.adminUrl, CUTOVER_TOKEN: h.server.token },
      });
      assert.equal(cli.code, 6, 'refused for now (exit 6): the same call works after Retry-After');
      assert.match(
        cli.stderr,
        /TOO_MANY_REQUESTS: too many failed attempts with a wrong token from 127\.0\.0\.1; try again in \d+ s/,
      );
      assert.match(cli.stderr, /Retry-After/);
    });

    it('answers 429 with Retry-After after 10 wrong dashboard logins, and keeps it up', async () => {
      const guesser = client('127.0.0.3');
      for (let i = 0; i < 10; i++) assert.equal((await login(guesser, `guess-${i}`)).status, 401, `login ${i}`);
      for (let i = 0; i < 50; i++) {
        const refused = await login(guesser, `guess-more-${i}`);
        assert.equal(refused.status, 429);
        assert.ok(Number(refused.retryAfter) >= 1, `Retry-After ${refused.retryAfter}`);
        assert.match(refused.text, /Too many wrong tokens from this address/);
      }
      assert.equal((await login(guesser, h.server.token)).status, 429);
      assert.equal((await api(guesser, h.server.token)).status, 429);
      assert.equal((await login(client('127.0.0.4'), h.server.token)).status, 303, 'another address logs in');
    });

    it('does not count requests that send no credential (a browser before login)', async () => {
      const browser = client('127.0.0.5');
      for (let i = 0; i < 30; i++) {
        const response = await request(`${h.server.adminUrl}/api/v1/services`, { dispatcher: browser });
        await response.body.dump();
        assert.equal(response.statusCode, 401);
      }
      assert.equal((await api(browser, h.server.token)).status, 200);
    });
  });
});
