import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isCutoverError } from '../../../src/core/errors.js';
import {
  commandLine,
  HaproxyRuntimeApi,
  parseMap,
  parseServersState,
  parseStatCsv,
} from '../../../src/router/haproxy/haproxy-runtime-api.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cutover-haproxy-api-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('haproxy-runtime-api', () => {
  it('refuses a word that could end the command or start another', () => {
    assert.equal(commandLine(['set', 'map', '/s/routes.map', 'web', 'a:b:10']), 'set map /s/routes.map web a:b:10');
    for (const word of ['a;b', 'a\nb', 'a b', 'a\rb', "a'b", 'a"b', 'a\\b', 'a#b', '', 'é']) {
      assert.throws(() => commandLine(['set', 'map', word]), RangeError, JSON.stringify(word));
    }
    assert.throws(() => commandLine([]), RangeError);
  });

  it('sends one line per connection and gives up on a socket that does not answer', async () => {
    const socketPath = path.join(dir, 'fake.sock');
    const received: string[] = [];
    const server = net.createServer((socket) => {
      socket.on('data', (data: Buffer) => {
        received.push(data.toString());
        if (data.toString().startsWith('show info')) socket.end('Name: HAProxy\ndescription: gen-1\n\n');
        // Anything else is never answered: the client's timeout ends it.
      });
    });
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const api = new HaproxyRuntimeApi({ socketPath, timeoutMs: 200 });
      assert.equal((await api.showInfo()).get('description'), 'gen-1');
      await assert.rejects(
        api.run(['show', 'stat']),
        (error: unknown) => isCutoverError(error) && error.code === 'ROUTER_UNAVAILABLE',
      );
      assert.deepEqual(received, ['show info\n', 'show stat\n']);
      const missing = new HaproxyRuntimeApi({ socketPath: path.join(dir, 'none.sock') });
      await assert.rejects(missing.run(['show', 'info']), /did not answer/);
    } finally {
      server.close();
    }
  });

  it('parses show stat, show servers state and show map', () => {
    const stat = parseStatCsv(
      [
        '# pxname,svname,scur,stot,econ,eresp,status,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,req_tot,ttime,',
        'cutover_web_0,r1__a,2,9,0,1,UP,0,5,1,2,1,0,9,3,',
        'cutover_web_0,BACKEND,2,9,0,1,UP,0,5,1,2,1,0,9,3,',
        '',
      ].join('\n'),
    );
    assert.deepEqual(stat, [
      {
        backend: 'cutover_web_0',
        server: 'r1__a',
        current: 2,
        requests: 9,
        status: { '1xx': 0, '2xx': 5, '3xx': 1, '4xx': 2, '5xx': 1, other: 0 },
        connectionErrors: 0,
        responseErrors: 1,
        averageTotalMs: 3,
        state: 'UP',
      },
    ]);
    const state = parseServersState(
      '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_port\n3 cutover_web_0 1 r1__a 127.0.0.1 2 0 4000\n',
    );
    assert.deepEqual(state, [
      { backend: 'cutover_web_0', server: 'r1__a', address: '127.0.0.1', port: 4000, adminState: 0 },
    ]);
    assert.deepEqual(
      parseMap('0x55d0 web cutover_web_0:cutover_web_1:2500\n0x55d1 api cutover_api_2:cutover_api_2:0\n'),
      new Map([
        ['web', 'cutover_web_0:cutover_web_1:2500'],
        ['api', 'cutover_api_2:cutover_api_2:0'],
      ]),
    );
  });
});
