import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csrfMatches, DashboardSessions } from '../../src/dashboard/session-store.js';
import { sessionIdFrom } from '../../src/dashboard/session-cookie.js';

describe('dashboard sessions', () => {
  it('gives random ids, expires them, and revokes them on logout', () => {
    let now = 1_000;
    const sessions = new DashboardSessions(() => now, 60_000);
    const a = sessions.create();
    const b = sessions.create();
    assert.notEqual(a.id, b.id);
    assert.notEqual(a.csrf, a.id);
    assert.equal(sessions.get(a.id)?.csrf, a.csrf);
    assert.equal(sessions.get(`${a.id}x`), null);
    sessions.revoke(b.id);
    assert.equal(sessions.get(b.id), null);
    now += 60_000;
    assert.equal(sessions.get(a.id), null, 'expired');
    assert.equal(sessions.size(), 0);
  });

  it('checks the CSRF header exactly and reads the id from a Cookie header', () => {
    const session = new DashboardSessions().create();
    assert.equal(csrfMatches(session, session.csrf), true);
    assert.equal(csrfMatches(session, undefined), false);
    assert.equal(csrfMatches(session, session.csrf.slice(1)), false);
    assert.equal(csrfMatches(session, [session.csrf]), false);
    assert.equal(sessionIdFrom(`theme=dark; cutover_session=${session.id}; other=1`), session.id);
    assert.equal(sessionIdFrom('cutover_sessionx=1'), undefined);
  });
});
