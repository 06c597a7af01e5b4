import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';

// The test PostgreSQL itself: every migration test relies on it starting and stopping cleanly.
describe('the test PostgreSQL server', () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgres();
  });
  after(async () => {
    await server?.stop();
  });

  it('answers queries on loopback and creates databases', async () => {
    await server.createDatabase('app');
    const rows = await server.query<{ version: string }>('app', 'SELECT version()');
    assert.match(rows[0]!.version, /^PostgreSQL \d+/);
    assert.match(server.url('app'), /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/app$/);
  });
});
