import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeChanges, diffConfigs, isUnchanged, liveConfig } from '../../src/config/config-changes.js';
import { parseConfig } from '../../src/config/load-config.js';

const service = (name: string, extra = ''): string =>
  `  ${name}:\n    command: node server.js\n    health: { path: /health }\n${extra}`;
const config = (services: string, top = ''): ReturnType<typeof parseConfig> =>
  parseConfig(
    `server:\n  proxy: 127.0.0.1:8080\n  admin: 127.0.0.1:9090\nservices:\n${services}${top}`,
    '/tmp/x/cutover.yaml',
  );

describe('what a reload changes, and what of it applies live', () => {
  it('finds nothing in the same file', () => {
    const a = config(service('web'));
    assert.ok(isUnchanged(diffConfigs(a, config(service('web')))));
    assert.deepEqual(describeChanges(diffConfigs(a, a)), ['no change: the server already runs this file']);
  });

  it('warns when the only service, the default without saying so, stops being it as a second one is added', () => {
    const running = config(service('web'));
    assert.equal(running.services.web?.default, true, 'the only service of a file is the default');
    const changes = diffConfigs(running, config(service('web') + service('shop')));
    assert.equal(changes.defaultLost, 'web');
    assert.match(
      describeChanges(changes).join('\n'),
      /warning: web is no longer the default service .*requests for a host no service names get 404; set `default: true` on web/,
    );
    assert.equal(
      diffConfigs(running, config(service('web', '    default: true\n') + service('shop'))).defaultLost,
      null,
    );
    assert.equal(
      diffConfigs(running, config(service('web') + service('shop', '    default: true\n'))).defaultLost,
      null,
    );
  });

  it('adds process services live, holds docker ones and the server section for a restart', () => {
    const running = config(service('web'));
    const next = parseConfig(
      `server:\n  proxy: 127.0.0.1:8081\n  admin: 127.0.0.1:9090\nservices:\n${service('web')}${service('shop')}` +
        `  box:\n    runtime: docker\n    image: app:\${VERSION}\n`,
      '/tmp/x/cutover.yaml',
    );
    const changes = diffConfigs(running, next);
    assert.deepEqual(changes.added, ['shop']);
    assert.deepEqual(
      changes.restart.map((r) => r.path),
      ['server.proxy', 'services.box'],
    );
    const live = liveConfig(running, next, changes);
    assert.deepEqual(Object.keys(live.services).sort(), ['shop', 'web']);
    assert.deepEqual(live.server, running.server, 'the server section stays as it runs');
  });

  it('takes changed settings for the next deploy, but keeps the traffic policy the proxy started with', () => {
    const running = config(service('web'));
    const next = config(service('web', '    instances: 3\n    timeouts: { connect: 2s }\n'));
    const changes = diffConfigs(running, next);
    assert.deepEqual(changes.changed, [{ service: 'web', fields: ['instances'] }]);
    assert.deepEqual(
      changes.restart.map((r) => r.path),
      ['services.web.traffic'],
    );
    const live = liveConfig(running, next, changes);
    assert.equal(live.services.web!.instances, 3);
    assert.deepEqual(live.services.web!.traffic, running.services.web!.traffic);
  });

  it('keeps a service the file dropped until a restart, and says how to stop it', () => {
    const running = config(service('web') + service('old'));
    const next = config(service('web'));
    const changes = diffConfigs(running, next);
    assert.deepEqual(changes.removed, ['old']);
    assert.ok(liveConfig(running, next, changes).services.old);
    assert.match(describeChanges(changes).join('\n'), /not in the file any more: old .*cutover down <service>/);
  });

  it('replaces notification targets and analysis templates', () => {
    const running = config(service('web'));
    const next = config(
      service('web'),
      `analysis:\n  errors:\n    metrics:\n      - { name: e, provider: { builtin: error-rate }, failure_condition: result > 0.05 }\n` +
        `notifications:\n  - { type: slack, url: "https://hooks.example.com/x" }\n`,
    );
    const changes = diffConfigs(running, next);
    assert.equal(changes.notifications, true);
    assert.deepEqual(changes.analysis.added, ['errors']);
    const live = liveConfig(running, next, changes);
    assert.equal(live.notifications.length, 1);
    assert.ok(live.analysis.errors);
  });
});
