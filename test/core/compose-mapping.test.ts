import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapCompose, type ComposeImport, type ComposeImportOptions } from '../../src/core/compose-mapping.js';
import { composeDuration, composeString, imageWithVersionTag, serviceNameFor } from '../../src/core/compose-values.js';

// The pure mapping of `cutover init --from`, over Compose files of different
// shapes: the runbooks' web + worker + db + redis, the list syntaxes and
// Traefik labels, a chain of dependent web services, and Swarm placement.

const options = (overrides: Partial<ComposeImportOptions> = {}): ComposeImportOptions => ({
  runtime: 'docker',
  only: null,
  isSecret: (name, value) => /secret|password|token|key|database_url/i.test(name) || /:\/\/[^/@]*:[^/@]*@/.test(value),
  rebasePath: (path) => `../compose/${path.replace(/^\.\//, '')}`,
  ...overrides,
});

function entriesOf(imported: ComposeImport, name: string): Record<string, unknown> {
  const service = imported.services.find((s) => s.name === name);
  assert.ok(service, `no service ${name} in ${imported.services.map((s) => s.name).join(', ')}`);
  return Object.fromEntries(service.entries.map((e) => [e.key, e.value]));
}
const notePaths = (imported: ComposeImport): string[] => imported.notes.map((n) => n.path);
const reasonAt = (imported: ComposeImport, path: string): string =>
  imported.notes.find((n) => n.path === path)?.reason ?? `(no note at ${path})`;

describe('mapCompose: the runbook shape (web, worker, db, redis)', () => {
  const runbook = {
    services: {
      web: {
        image: 'registry.example.com/shop/web:1.4.2',
        ports: ['8080:3000'],
        environment: {
          PORT: '3000',
          NODE_ENV: 'production',
          DATABASE_URL: 'postgres://shop:hunter2@db:5432/shop',
          CACHE_URL: 'redis://:s3cr3t-pw@redis:6379/0',
          SESSION_SECRET: 'do-not-copy-me',
          WORKERS: 4,
        },
        env_file: ['./web.env'],
        healthcheck: {
          test: ['CMD', 'curl', '-fsS', 'http://localhost:3000/healthz'],
          interval: '10s',
          timeout: '3s',
          retries: 5,
          start_period: '1m30s',
        },
        deploy: {
          replicas: 3,
          update_config: {
            parallelism: 1,
            delay: '5s',
            order: 'start-first',
            failure_action: 'rollback',
            monitor: '30s',
            max_failure_ratio: 0.1,
          },
          restart_policy: { condition: 'on-failure' },
        },
        depends_on: { db: { condition: 'service_healthy' }, redis: { condition: 'service_started' } },
        volumes: ['./uploads:/app/uploads'],
        restart: 'unless-stopped',
      },
      worker: { image: 'registry.example.com/shop/web:1.4.2', command: 'node worker.js', env_file: './web.env' },
      db: {
        image: 'postgres:16',
        environment: { POSTGRES_PASSWORD: 'hunter2' },
        healthcheck: { test: ['CMD-SHELL', 'pg_isready -U shop'], interval: '5s' },
      },
      redis: { image: 'redis:7-alpine' },
    },
    volumes: { dbdata: {} },
  };
  const imported = mapCompose(runbook, options());
  const web = entriesOf(imported, 'web');

  it('imports the web service only, and says why the worker, the database and redis stay behind', () => {
    assert.deepEqual(
      imported.services.map((s) => s.name),
      ['web'],
    );
    assert.match(reasonAt(imported, 'services.worker'), /no published port.*worker/);
    assert.match(reasonAt(imported, 'services.db'), /data store \(postgres:16\)/);
    assert.match(reasonAt(imported, 'services.redis'), /data store/);
    assert.match(reasonAt(imported, 'services.web.depends_on.db'), /keep it running/);
    assert.match(reasonAt(imported, 'services.web.volumes'), /beside the old one/);
    assert.match(reasonAt(imported, 'services.web.restart'), /restarts a crashed instance/);
    assert.match(reasonAt(imported, 'services.web.deploy.restart_policy'), /restarts a crashed instance/);
    assert.match(reasonAt(imported, 'volumes'), /top-level volumes/);
  });

  it('tags the image with ${VERSION} and maps replicas, update_config and the healthcheck', () => {
    assert.equal(web.image, 'registry.example.com/shop/web:${VERSION}');
    assert.equal(web.runtime, 'docker');
    assert.equal(web.instances, 3);
    assert.deepEqual(web.strategy, {
      type: 'rolling',
      parallelism: 1,
      delay: '5s',
      monitor: '30s',
      failure_action: 'rollback',
      max_failure_ratio: 0.1,
      order: 'start-first',
    });
    assert.deepEqual(web.health, {
      type: 'http',
      path: '/healthz',
      interval: '10s',
      timeout: '3s',
      start_period: '1m30s',
      retries: 5,
    });
  });

  it('never copies a secret: by name or by a password in its URL, it becomes a ${NAME} reference', () => {
    assert.deepEqual(web.env, {
      NODE_ENV: 'production',
      DATABASE_URL: '${DATABASE_URL}',
      CACHE_URL: '${CACHE_URL}',
      SESSION_SECRET: '${SESSION_SECRET}',
      WORKERS: '4',
    });
    assert.ok(!JSON.stringify(imported).includes('hunter2'));
    assert.ok(!JSON.stringify(imported).includes('s3cr3t-pw'));
    assert.ok(!JSON.stringify(imported).includes('do-not-copy-me'));
    // CACHE_URL is secret by its value only: listed under secrets: so cutover redacts it too.
    assert.deepEqual(imported.secrets, ['CACHE_URL']);
    assert.deepEqual(
      imported.references.map((r) => r.name),
      ['DATABASE_URL', 'CACHE_URL', 'SESSION_SECRET'],
    );
    assert.match(reasonAt(imported, 'services.web.environment.PORT'), /cutover sets PORT/);
  });

  it('keeps env files as paths from the new config, and uses host networking since the app reads PORT', () => {
    assert.deepEqual(web.env_file, ['../compose/web.env']);
    assert.equal(web.network, 'host');
    assert.equal(web.container_port, undefined);
  });
});

describe('mapCompose: list syntaxes, Traefik labels, a shell healthcheck, no update_config', () => {
  const imported = mapCompose(
    {
      services: {
        Api_Server: {
          image: 'localhost:5000/api',
          environment: ['LOG_LEVEL=info', 'FROM_SHELL', 'GREETING=$$HOME and ${NAME:?required}'],
          labels: ['traefik.enable=true', 'traefik.http.routers.api.rule=Host(`api.example.com`) && PathPrefix(`/v1`)'],
          healthcheck: { test: 'wget -qO- localhost/ || exit 1', interval: '1500us' },
          ports: [{ target: 8000, published: '80', protocol: 'tcp' }, '9090:9090/udp'],
          env_file: [{ path: './api.env', required: false }],
          stop_grace_period: '20s',
        },
      },
    },
    options(),
  );
  const api = entriesOf(imported, 'api-server');

  it('renames the service to cutover’s grammar and says so', () => {
    assert.match(reasonAt(imported, 'services.Api_Server'), /renamed api-server/);
  });

  it('takes hosts from the Traefik rule, and the image from a registry with a port', () => {
    // Its rule routes only /v1 of that host: a path route, as in Traefik.
    assert.equal(api.hosts, undefined);
    assert.deepEqual(api.routes, [{ host: 'api.example.com', path_prefix: '/v1' }]);
    assert.equal(api.image, 'localhost:5000/api:${VERSION}');
  });

  it('converts Compose interpolation to cutover’s, and a bare name to a reference', () => {
    assert.deepEqual(api.env, { LOG_LEVEL: 'info', FROM_SHELL: '${FROM_SHELL}', GREETING: '$HOME and ${NAME}' });
    assert.match(reasonAt(imported, 'services.Api_Server.environment.GREETING'), /\$\{NAME:\?required\}/);
  });

  it('a healthcheck without an HTTP URL in it becomes tcp, with a note; no update_config is blue-green', () => {
    assert.deepEqual(api.health, { type: 'tcp', interval: '2ms' });
    // wget localhost/ has no scheme: not recognised as a URL, so not guessed at.
    assert.match(reasonAt(imported, 'services.Api_Server.healthcheck.test'), /inside the container/);
    assert.deepEqual(api.strategy, { type: 'blue-green', auto_switch: true });
  });

  it('without PORT in its environment the app keeps its port: bridge networking with container_port', () => {
    assert.equal(api.network, 'bridge');
    assert.equal(api.container_port, 8000);
    assert.match(reasonAt(imported, 'services.Api_Server.ports'), /9090\/udp/);
    assert.match(reasonAt(imported, 'services.Api_Server.env_file.0.required'), /no optional env file/);
    assert.equal(api.stop_grace_period, '20s');
  });
});

describe('mapCompose: several web services that depend on each other', () => {
  const compose = {
    services: {
      frontend: { image: 'shop/frontend:3', ports: ['80:8080'], depends_on: ['api'] },
      api: { image: 'shop/api:3', ports: ['8081:8081'], depends_on: ['auth', 'db'] },
      auth: { image: 'shop/auth:3', ports: ['8082:8082'] },
      db: { image: 'mariadb:11' },
      mailer: { image: 'shop/mailer:3' },
    },
  };

  it('orders dependencies first and marks the dependents critical (deploy --all runs them after, alone)', () => {
    const imported = mapCompose(compose, options());
    assert.deepEqual(
      imported.services.map((s) => s.name),
      ['auth', 'api', 'frontend'],
    );
    assert.equal(entriesOf(imported, 'auth').critical, undefined);
    assert.equal(entriesOf(imported, 'api').critical, true);
    assert.equal(entriesOf(imported, 'frontend').critical, true);
    assert.ok(notePaths(imported).includes('services.api.depends_on.db'));
  });

  it('--service picks exactly the named ones, a worker included', () => {
    const imported = mapCompose(compose, options({ only: ['mailer', 'auth'] }));
    assert.deepEqual(
      imported.services.map((s) => s.name),
      ['auth', 'mailer'],
    );
    assert.match(reasonAt(imported, 'services.frontend'), /not named in --service/);
    // No port: no network keys, tcp health, default hosts.
    const mailer = entriesOf(imported, 'mailer');
    assert.equal(mailer.network, undefined);
    assert.deepEqual(mailer.hosts, ['mailer.localhost']);
  });
});

describe('mapCompose: Swarm', () => {
  it('passes placement constraints with --runtime swarm, maps limits, and parallelism 0 as every instance', () => {
    const compose = {
      services: {
        web: {
          image: 'web:1',
          ports: ['80:80'],
          deploy: {
            replicas: 4,
            placement: { constraints: ['node.role==worker'], preferences: [{ spread: 'node.labels.zone' }] },
            resources: { limits: { cpus: '0.25', memory: '128M' }, reservations: { memory: '64M' } },
            update_config: { parallelism: 0 },
            mode: 'replicated',
          },
        },
      },
    };
    const swarm = mapCompose(compose, options({ runtime: 'swarm' }));
    const web = entriesOf(swarm, 'web');
    assert.deepEqual(web.placement, ['node.role==worker']);
    assert.deepEqual(web.resources, { cpus: 0.25, memory: '128M' });
    assert.deepEqual(web.strategy, { type: 'rolling', parallelism: 4 });
    // Swarm tasks share the host network: never bridge.
    assert.equal(web.network, 'host');
    assert.ok(notePaths(swarm).includes('services.web.deploy.placement.preferences'));
    assert.ok(notePaths(swarm).includes('services.web.deploy.resources.reservations'));
    const docker = mapCompose(compose, options());
    assert.equal(entriesOf(docker, 'web').placement, undefined);
    assert.match(reasonAt(docker, 'services.web.deploy.placement'), /--runtime swarm/);
  });
});

describe('mapCompose: a healthcheck URL whose port is a variable', () => {
  // In a Compose healthcheck `$$PORT` is the container's own PORT (a single `$` would be
  // Compose's interpolation); `${PORT:-3000}` is Compose's with a default.
  const imported = mapCompose(
    {
      services: {
        web: {
          image: 'shop/web:1',
          ports: ['80:3000'],
          healthcheck: { test: ['CMD-SHELL', 'curl -fsS http://localhost:$$PORT/healthz || exit 1'] },
        },
        api: {
          image: 'shop/api:1',
          ports: ['81:3000'],
          healthcheck: { test: ['CMD', 'wget', '-qO-', 'http://127.0.0.1:${PORT:-3000}/ready?deep=1'] },
        },
      },
    },
    options(),
  );

  it('is still an HTTP check on that path, with no note that it was not', () => {
    assert.deepEqual(entriesOf(imported, 'web').health, { type: 'http', path: '/healthz' });
    assert.deepEqual(entriesOf(imported, 'api').health, { type: 'http', path: '/ready?deep=1' });
    assert.deepEqual(
      notePaths(imported).filter((p) => p.endsWith('healthcheck.test')),
      [],
    );
  });
});

describe('mapCompose: counts and ratios written as strings, as the Compose spec allows', () => {
  const imported = mapCompose(
    {
      services: {
        web: {
          image: 'shop/web:1',
          ports: ['80:3000'],
          healthcheck: { test: ['CMD', 'curl', 'http://localhost:3000/h'], retries: '5' },
          deploy: {
            replicas: '${WEB_REPLICAS:-3}',
            update_config: { parallelism: '2', max_failure_ratio: '0.25' },
          },
        },
        api: { image: 'shop/api:1', ports: ['81:3000'], deploy: { replicas: '4' } },
        job: { image: 'shop/job:1', ports: ['82:3000'], deploy: { replicas: '${JOB_REPLICAS}' } },
      },
    },
    options(),
  );

  it('a quoted number is that number', () => {
    const web = entriesOf(imported, 'web');
    assert.equal(entriesOf(imported, 'api').instances, 4);
    assert.deepEqual(web.strategy, { type: 'rolling', parallelism: 2, max_failure_ratio: 0.25 });
    assert.deepEqual(web.health, { type: 'http', path: '/h', retries: 5 });
  });

  it('a reference with a default is that default, and says so', () => {
    assert.equal(entriesOf(imported, 'web').instances, 3);
    assert.match(reasonAt(imported, 'services.web.deploy.replicas'), /default 3.*WEB_REPLICAS/);
  });

  it('a reference without one is not dropped without a word', () => {
    assert.equal(entriesOf(imported, 'job').instances, 1);
    assert.match(reasonAt(imported, 'services.job.deploy.replicas'), /\$\{JOB_REPLICAS\} is not a whole number/);
  });
});

describe('mapCompose: ports written with Compose interpolation', () => {
  const imported = mapCompose(
    {
      services: {
        web: { image: 'shop/web:1', ports: ['${WEB_PORT:-3000}:${WEB_PORT:-3000}'] },
        api: { image: 'shop/api:1', ports: ['${API_PUBLISHED}:8000/tcp'] },
        adm: { image: 'shop/adm:1', ports: ['${ADM_PORT}', { target: '${ADM_TARGET:-9000}', published: '90' }] },
        bad: { image: 'shop/bad:1', ports: ['8080:0'] },
      },
    },
    options(),
  );

  it('the `:` and `-` of a reference are not the port syntax’s: its default is the container port', () => {
    assert.equal(entriesOf(imported, 'web').container_port, 3000);
    assert.match(reasonAt(imported, 'services.web.ports'), /default of \$\{WEB_PORT\}/);
    assert.equal(entriesOf(imported, 'api').container_port, 8000);
  });

  it('a container port that cannot be read is noted, never written as 0', () => {
    const adm = imported.notes.filter((n) => n.path === 'services.adm.ports').map((n) => n.reason);
    assert.ok(
      adm.some((reason) => reason.startsWith('${ADM_PORT}: no container port')),
      adm.join('\n'),
    );
    assert.equal(entriesOf(imported, 'adm').container_port, 9000);
    assert.equal(entriesOf(imported, 'bad').container_port, undefined);
    assert.match(reasonAt(imported, 'services.bad.ports'), /^8080:0: no container port/);
  });
});

describe('mapCompose: what sits inside labels and deploy is mapped or noted, never dropped', () => {
  const imported = mapCompose(
    {
      services: {
        web: {
          image: 'shop/web:1',
          ports: ['80:3000'],
          labels: {
            'com.example.team': 'payments',
            'traefik.enable': 'true',
            'traefik.http.routers.web.rule': 'Host(`shop.example.com`)',
            'cutover.service': 'spoofed',
          },
          deploy: {
            resources: { limits: { cpus: '0.5', memory: '256M', pids: 100 } },
            placement: { constraints: ['node.role==worker'], max_replicas_per_node: 1 },
          },
        },
      },
    },
    options({ runtime: 'swarm' }),
  );
  const web = entriesOf(imported, 'web');

  it('container labels become labels:, routing labels and cutover’s own are noted', () => {
    assert.deepEqual(web.labels, { 'com.example.team': 'payments' });
    assert.deepEqual(web.hosts, ['shop.example.com']);
    for (const key of ['traefik.enable', 'traefik.http.routers.web.rule'])
      assert.match(reasonAt(imported, `services.web.labels.${key}`), /a routing label/);
    assert.match(reasonAt(imported, 'services.web.labels.cutover.service'), /not a label name cutover accepts/);
  });

  it('a limit or a placement setting cutover has no key for is noted', () => {
    assert.deepEqual(web.resources, { cpus: 0.5, memory: '256M' });
    assert.match(reasonAt(imported, 'services.web.deploy.resources.limits.pids'), /cpus and memory only/);
    assert.deepEqual(web.placement, ['node.role==worker']);
    assert.match(reasonAt(imported, 'services.web.deploy.placement.max_replicas_per_node'), /only constraints/);
  });
});

describe('mapCompose: services that share a host, as Traefik and nginx-proxy let them', () => {
  const imported = mapCompose(
    {
      services: {
        web: { image: 'shop/web:1', ports: ['80:80'], environment: { VIRTUAL_HOST: 'shop.example.com' } },
        web2: {
          image: 'shop/web:1',
          ports: ['81:80'],
          environment: { VIRTUAL_HOST: 'shop.example.com,www.shop.example.com' },
        },
        api: {
          image: 'shop/api:1',
          ports: ['82:80'],
          labels: { 'traefik.http.routers.api.rule': 'Host(`shop.example.com`) && PathPrefix(`/api/`)' },
        },
        old: {
          image: 'shop/old:1',
          ports: ['83:80'],
          labels: { 'traefik.http.routers.old.rule': 'Host(`shop.example.com`) && PathPrefix(`/api`)' },
        },
      },
    },
    options(),
  );

  it('a path under a shared host becomes a path route', () => {
    assert.deepEqual(entriesOf(imported, 'web').hosts, ['shop.example.com']);
    assert.deepEqual(entriesOf(imported, 'api').routes, [{ host: 'shop.example.com', path_prefix: '/api' }]);
  });

  it('a host or route an earlier service has is noted, not written twice', () => {
    assert.deepEqual(entriesOf(imported, 'web2').hosts, ['www.shop.example.com']);
    assert.match(reasonAt(imported, 'services.web2.environment.VIRTUAL_HOST'), /shop\.example\.com is routed to web/);
    assert.deepEqual(entriesOf(imported, 'old').hosts, ['old.localhost']);
    assert.match(
      reasonAt(imported, 'services.old.labels.traefik.http.routers.old.rule'),
      /shop\.example\.com\/api is routed to api/,
    );
  });
});

describe('compose values', () => {
  it('composeString: Compose interpolation in cutover’s grammar', () => {
    assert.deepEqual(composeString('a $$ b'), { text: 'a $ b', approximated: [], variables: [] });
    assert.deepEqual(composeString('$${NOT}'), { text: '$${NOT}', approximated: [], variables: [] });
    assert.deepEqual(composeString('$HOME/x'), { text: '${HOME}/x', approximated: [], variables: ['HOME'] });
    assert.deepEqual(composeString('${A-b}${C:-d}'), { text: '${A:-b}${C:-d}', approximated: [], variables: [] });
    assert.deepEqual(composeString('${A:+yes}'), { text: '${A}', approximated: ['${A:+yes}'], variables: ['A'] });
    assert.deepEqual(composeString('cost: 5$'), { text: 'cost: 5$', approximated: [], variables: [] });
  });

  it('composeDuration: Go durations', () => {
    assert.equal(composeDuration('1m30s'), '1m30s');
    assert.equal(composeDuration('250ms'), '250ms');
    assert.equal(composeDuration('1500us'), '2ms');
    assert.equal(composeDuration(30), '30s');
    assert.equal(composeDuration('soon'), null);
  });

  it('imageWithVersionTag: tags, digests and registry ports', () => {
    assert.deepEqual(imageWithVersionTag('nginx'), { image: 'nginx:${VERSION}', tag: null });
    assert.deepEqual(imageWithVersionTag('r.io:5000/a/b:1.2'), { image: 'r.io:5000/a/b:${VERSION}', tag: '1.2' });
    assert.deepEqual(imageWithVersionTag('a/b@sha256:abc'), { image: 'a/b:${VERSION}', tag: null });
  });

  it('imageWithVersionTag: the `:` and `/` inside Compose interpolation are not the image’s', () => {
    assert.deepEqual(imageWithVersionTag('${REGISTRY:-r.io:5000/acme}/web:${TAG:-latest}'), {
      image: '${REGISTRY:-r.io:5000/acme}/web:${VERSION}',
      tag: '${TAG:-latest}',
    });
    assert.deepEqual(imageWithVersionTag('${REGISTRY:-r.io:5000}/web'), {
      image: '${REGISTRY:-r.io:5000}/web:${VERSION}',
      tag: null,
    });
  });

  it('an interpolated image comes out in cutover’s grammar, its variables as references', () => {
    const imported = mapCompose(
      {
        services: {
          web: { image: '${REGISTRY:-r.io:5000/acme}/web:${TAG:-latest}', ports: ['80:80'] },
          api: { image: '$REGISTRY/api:${TAG}', ports: ['81:80'] },
        },
      },
      options(),
    );
    assert.equal(entriesOf(imported, 'web').image, '${REGISTRY:-r.io:5000/acme}/web:${VERSION}');
    assert.equal(entriesOf(imported, 'api').image, '${REGISTRY}/api:${VERSION}');
    assert.deepEqual(
      imported.references.map((r) => `${r.service}:${r.name}`),
      ['api:REGISTRY'],
    );
    // The tag was the environment's: no `--version ${TAG}` advice.
    const comment = imported.services.find((s) => s.name === 'web')?.entries.find((e) => e.key === 'image')?.comment;
    assert.match(comment ?? '', /--version <tag>/);
  });

  it('serviceNameFor: cutover’s service name grammar', () => {
    assert.equal(serviceNameFor('Web.API_v2'), 'web-api-v2');
    assert.equal(serviceNameFor('___'), 'service');
    assert.equal(serviceNameFor('x'.repeat(80)).length, 63);
  });
});
