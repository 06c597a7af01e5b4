import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildRouteTable, type CanaryEntry } from '../../src/router/route-table.js';
import { bucketOf } from '../../src/core/sticky-bucket.js';
import type { CanaryRoute } from '../../src/router/index.js';
import {
  cookieValue,
  goesToCanary,
  hasCookie,
  newStickyId,
  type CanaryChoice,
} from '../../src/router/proxy/canary-choice.js';

/** The per-request choice on raw header lists, as Node hands them over; the proxy test runs the same through real sockets. */
function canaryOf(
  weight: number,
  stickiness: CanaryRoute['stickiness'],
  match: CanaryRoute['match'] = [],
): CanaryEntry<null> {
  const table = buildRouteTable(
    [
      {
        service: 'web',
        hosts: ['web.test'],
        default: false,
        target: { releaseId: 'r1', version: 'v1', slot: 'blue', upstreams: [{ id: 's', host: '127.0.0.1', port: 1 }] },
        canary: {
          target: {
            releaseId: 'r2',
            version: 'v2',
            slot: 'green',
            upstreams: [{ id: 'c', host: '127.0.0.1', port: 2 }],
          },
          weight,
          stickiness,
          match,
        },
      },
    ],
    () => null,
  );
  const canary = table.lookup('web.test')?.canary;
  assert.ok(canary);
  return canary;
}

const choice: CanaryChoice = { setCookie: null };
const byHeader = { by: 'header', name: 'X-User-Id' } as const;
const rules = [
  { header: 'X-Canary', value: 'always' },
  { cookie: 'canary', value: '1' },
];

/** A key on each side at 30 % for the salt `web`. */
function keyOnSide(canary: boolean, weight = 30): string {
  for (let i = 0; ; i++) if (bucketOf(`k${i}`, 'web') < weight * 100 === canary) return `k${i}`;
}

describe('canary choice: match rules', () => {
  it('sends a request matching a header rule to the canary at weight 0, the name in any case, the value exact', () => {
    const canary = canaryOf(0, byHeader, rules);
    assert.equal(goesToCanary(canary, ['Host', 'web.test', 'x-CANARY', 'always'], '10.0.0.1', choice), true);
    assert.equal(goesToCanary(canary, ['X-Canary', 'Always'], '10.0.0.1', choice), false);
    assert.equal(goesToCanary(canary, ['X-Canary-Not', 'always'], '10.0.0.1', choice), false);
    assert.equal(goesToCanary(canary, [], '10.0.0.1', choice), false);
  });

  it('matches a cookie rule anywhere in the Cookie header, by exact name and value', () => {
    const canary = canaryOf(0, byHeader, rules);
    assert.equal(goesToCanary(canary, ['Cookie', 'canary=1'], undefined, choice), true);
    assert.equal(goesToCanary(canary, ['Cookie', 'a=b;  canary=1 ; c=d'], undefined, choice), true);
    assert.equal(
      goesToCanary(canary, ['cookie', 'a=b', 'cookie', 'canary=1'], undefined, choice),
      true,
      'a second Cookie header',
    );
    assert.equal(goesToCanary(canary, ['Cookie', 'xcanary=1; canary=11; Canary=1'], undefined, choice), false);
  });
});

describe('canary choice: sticky keys', () => {
  it('routes by the stickiness header, and by the client address when it is missing', () => {
    const canary = canaryOf(30, byHeader);
    assert.equal(goesToCanary(canary, ['X-User-Id', keyOnSide(true)], '10.0.0.1', choice), true);
    assert.equal(goesToCanary(canary, ['x-user-id', keyOnSide(false)], '10.0.0.1', choice), false);
    assert.equal(goesToCanary(canary, ['Other', 'x'], keyOnSide(true), choice), true, 'the address is the key');
    assert.equal(
      goesToCanary(canary, ['X-User-Id', ''], keyOnSide(false), choice),
      false,
      'an empty header is missing',
    );
    assert.equal(choice.setCookie, null);
  });

  it('routes by the socket address, never by X-Forwarded-For', () => {
    const canary = canaryOf(30, { by: 'ip', name: '' });
    const onCanary = keyOnSide(true);
    const onStable = keyOnSide(false);
    assert.equal(goesToCanary(canary, ['X-Forwarded-For', onStable], onCanary, choice), true);
    assert.equal(goesToCanary(canary, ['X-Forwarded-For', onCanary], onStable, choice), false);
  });

  it('routes by the stickiness cookie, and makes up one the response sets when it is missing', () => {
    const canary = canaryOf(30, { by: 'cookie', name: 'cid' });
    assert.equal(goesToCanary(canary, ['Cookie', `a=1; cid=${keyOnSide(true)}`], undefined, choice), true);
    assert.equal(choice.setCookie, null);
    assert.equal(goesToCanary(canary, ['Cookie', `cid=${keyOnSide(false)}`], undefined, choice), false);
    goesToCanary(canary, ['Cookie', 'cid='], undefined, choice);
    assert.match(choice.setCookie ?? '', /^cid=[0-9a-f]{16}; Path=\/; HttpOnly; SameSite=Lax$/);
    const id = /^cid=([0-9a-f]{16});/.exec(choice.setCookie ?? '')?.[1] ?? '';
    const first = goesToCanary(canary, [], undefined, choice);
    const made = /^cid=([0-9a-f]{16});/.exec(choice.setCookie ?? '')?.[1] ?? '';
    assert.notEqual(made, id, 'each new client gets its own id');
    assert.equal(
      goesToCanary(canary, ['Cookie', `cid=${made}`], undefined, choice),
      first,
      'the id routes the same way once sent back',
    );
  });

  it('needs no key at weight 0 or 100 and sets no cookie there', () => {
    assert.equal(goesToCanary(canaryOf(0, { by: 'cookie', name: 'cid' }), [], undefined, choice), false);
    assert.equal(choice.setCookie, null);
    assert.equal(goesToCanary(canaryOf(100, { by: 'cookie', name: 'cid' }), [], undefined, choice), true);
    assert.equal(choice.setCookie, null);
    assert.equal(goesToCanary(canaryOf(100, { by: 'ip', name: '' }), [], undefined, choice), true);
  });
});

describe('cookie parsing', () => {
  it('finds a cookie by exact name and trims the value', () => {
    assert.equal(cookieValue('a=1; b=2', 'b'), '2');
    assert.equal(cookieValue('a=1;b=2 ', 'b'), '2');
    assert.equal(cookieValue('ab=1; b=2', 'a'), undefined);
    assert.equal(cookieValue('a=; b=2', 'a'), undefined);
    assert.equal(cookieValue('a=x=y', 'a'), 'x=y');
    assert.equal(hasCookie('a=1; b=22', 'b', '2'), false);
    assert.equal(hasCookie('a=1; b=2', 'b', '2'), true);
  });

  it('makes 16-hex-character ids, different each time', () => {
    const ids = new Set(Array.from({ length: 1_000 }, () => newStickyId()));
    assert.equal(ids.size, 1_000);
    for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
  });
});
