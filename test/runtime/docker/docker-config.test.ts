import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planContainer } from '../../../src/runtime/docker/container-spec.js';
import { commandWords } from '../../../src/runtime/docker/command-words.js';
import { dockerHostOf } from '../../../src/runtime/docker/docker-client.js';
import { issueAt, issuesOf, parse } from '../../config/issues-of.js';

// `runtime: docker` in cutover.yaml: the image and how its containers run,
// validated once at load time; and the container a spec turns into.
describe('docker services in cutover.yaml', () => {
  it('resolves a docker service with its defaults: pull if-missing, host networking, no limits', () => {
    const config = parse(`server: { docker_host: unix:///run/user/1000/docker.sock }
services:
  web:
    runtime: docker
    image: registry.example.com/shop:\${VERSION}
`);
    const web = config.services.web!;
    assert.equal(web.runtime, 'docker');
    assert.equal(web.command, '', 'no command: the image CMD runs');
    assert.deepEqual(web.docker, {
      image: 'registry.example.com/shop:${VERSION}',
      pull: 'if-missing',
      network: 'host',
      containerPort: null,
      cpus: null,
      memoryBytes: null,
      labels: {},
    });
    assert.equal(config.server.dockerHost, 'unix:///run/user/1000/docker.sock');
  });

  it('reads pull, network, container_port, resources and labels', () => {
    const config = parse(`services:
  web:
    runtime: docker
    image: app:\${VERSION}
    command: node server.js --port \${PORT}
    pull: always
    network: bridge
    container_port: 3000
    resources: { cpus: 1.5, memory: 512m }
    labels: { team: payments, tier: 1 }
`);
    assert.deepEqual(config.services.web!.docker, {
      image: 'app:${VERSION}',
      pull: 'always',
      network: 'bridge',
      containerPort: 3000,
      cpus: 1.5,
      memoryBytes: 512 * 1024 * 1024,
      labels: { team: 'payments', tier: '1' },
    });
    assert.equal(config.services.web!.command, 'node server.js --port ${PORT}');
  });

  it('a process service has no docker settings, and its config reads as before', () => {
    const config = parse('services: { web: { command: node server.js } }');
    assert.equal(config.services.web!.runtime, 'process');
    assert.equal('docker' in config.services.web!, false);
    assert.equal('dockerHost' in config.server, false);
  });

  it('refuses a docker service without image, docker keys on a process service, and bad values, each at its place', () => {
    const { byPath } = issuesOf(`server: { docker_host: "docker.sock" }
services:
  web:
    runtime: docker
    container_port: 8080
    pull: sometimes
    resources: { cpus: 0, memory: lots }
    labels: { cutover.service: mine }
  api:
    command: node api.js
    image: api:\${VERSION}
  jobs:
    runtime: nomad
    command: x
`);
    assert.match(issueAt(byPath, 'services.web.image').message, /required for runtime "docker"/);
    assert.match(issueAt(byPath, 'services.web.container_port').message, /only used with network: bridge/);
    assert.match(issueAt(byPath, 'services.web.pull').message, /expected always, if-missing or never/);
    assert.match(issueAt(byPath, 'services.web.resources.cpus').message, /expected a number of CPUs greater than 0/);
    assert.match(issueAt(byPath, 'services.web.resources.memory').message, /expected a memory size like 256m/);
    assert.match(issueAt(byPath, 'services.web.labels["cutover.service"]').message, /not starting with cutover\./);
    assert.match(issueAt(byPath, 'services.api.image').message, /only used by runtime "docker"/);
    assert.match(
      issueAt(byPath, 'services.jobs.runtime').message,
      /expected "process" or "docker" or "swarm" or "kubernetes", got "nomad"/,
    );
    assert.match(issueAt(byPath, 'server.docker_host').message, /expected the Docker daemon address/);
  });

  it('the daemon is server.docker_host, else DOCKER_HOST, else /var/run/docker.sock', () => {
    assert.equal(dockerHostOf('tcp://127.0.0.1:2375', { DOCKER_HOST: 'unix:///x.sock' }), 'tcp://127.0.0.1:2375');
    assert.equal(dockerHostOf(undefined, { DOCKER_HOST: 'unix:///x.sock' }), 'unix:///x.sock');
    assert.equal(dockerHostOf(undefined, {}), 'unix:///var/run/docker.sock');
  });
});

describe('the container of an instance', () => {
  const spec = {
    service: 'web',
    releaseId: 'web-3',
    version: 'v2',
    slot: 'green' as const,
    index: 1,
    cwd: '',
    stopGracePeriodMs: 2_500,
  };
  const docker = {
    image: 'app:${VERSION}',
    pull: 'never' as const,
    network: 'host' as const,
    containerPort: null,
    cpus: null,
    memoryBytes: null,
    labels: { team: 'a' },
  };

  it('fills the placeholders in image, command words and env; never passes the controller environment', () => {
    const plan = planContainer(
      {
        ...spec,
        command: `node server.js --name "my app" --port \${PORT}`,
        env: { APP_VERSION: '${VERSION}-${SLOT}' },
      },
      docker,
      'abc',
      '127.0.0.1',
      41000,
    );
    assert.equal(plan.image, 'app:v2');
    assert.deepEqual(plan.options.Cmd, ['node', 'server.js', '--name', 'my app', '--port', '41000']);
    assert.deepEqual(plan.options.Env, [
      'APP_VERSION=v2-green',
      'PORT=41000',
      'HOST=127.0.0.1',
      'VERSION=v2',
      'SLOT=green',
      'INSTANCE=1',
      'CUTOVER_INSTANCE_ID=web/web-3/green-1',
    ]);
    assert.equal(plan.name, 'cutover-abc-web-web-3-green-1');
    assert.equal(plan.options.StopTimeout, 3, 'the grace period, rounded up to whole seconds');
    assert.equal(plan.options.HostConfig?.NetworkMode, 'host');
    assert.equal(plan.options.HostConfig?.Init, true);
    assert.deepEqual(plan.options.HostConfig?.RestartPolicy, { Name: 'no' });
    assert.equal(plan.options.Labels?.['cutover.instance'], '1');
    assert.equal(plan.options.Labels?.team, 'a');
  });

  it('with bridge networking publishes the container port on the loopback port and tells the app its own port', () => {
    const plan = planContainer(
      { ...spec, command: '', env: {} },
      { ...docker, network: 'bridge', containerPort: 3000, cpus: 0.25, memoryBytes: 1024 },
      'abc',
      '127.0.0.1',
      41000,
    );
    assert.equal(plan.options.Cmd, undefined, 'no command: the image CMD');
    assert.ok(plan.options.Env?.includes('PORT=3000') && plan.options.Env.includes('HOST=0.0.0.0'));
    assert.deepEqual(plan.options.HostConfig?.PortBindings, {
      '3000/tcp': [{ HostIp: '127.0.0.1', HostPort: '41000' }],
    });
    assert.equal(plan.options.HostConfig?.NanoCpus, 250_000_000);
    assert.equal(plan.options.HostConfig?.Memory, 1024);
  });

  it('splits a command like a shell does for quotes and escapes, and nothing more', () => {
    assert.deepEqual(commandWords(`sh -c 'node a.js | tee "out file"'`), ['sh', '-c', 'node a.js | tee "out file"']);
    assert.deepEqual(commandWords('a  b\\ c "" d'), ['a', 'b c', '', 'd']);
    assert.deepEqual(commandWords('   '), []);
  });
});
