import { composeDuration, imageWithVersionTag, isZeroDuration, serviceNameFor } from './compose-values.js';
import type {
  ComposeImport,
  ComposeImportOptions,
  ImportedService,
  ImportEntry,
  ImportNote,
  ServiceContext,
} from './compose-import-types.js';
import { asMap, shown, type Map } from './compose-import-types.js';
import { envFilesOf, mapEnvironment, composeText } from './compose-environment.js';
import { labelsOf, mapLabels, mapPorts, routingOf } from './compose-network.js';
import { healthTest, httpPathOf, mapDeploy, mapHealth, numberAt } from './compose-deploy.js';

/**
 * A Compose file (already checked against the Compose spec) as cutover
 * services: the pure half of `cutover init --from`. Every key is either
 * mapped (with a comment saying from what) or named in `notes` with the
 * reason it was not, so nothing is dropped silently. Secret-looking values
 * never come out: they become `${NAME}` references for the server's
 * environment. No I/O: the caller validates, renders and writes.
 */

export type {
  ComposeImport,
  ComposeImportOptions,
  ImportEntry,
  ImportedService,
  ImportNote,
} from './compose-import-types.js';
/** Images of data stores and brokers: stateful, kept where they run, never deployed as releases side by side. */
const DATA_STORE_IMAGE =
  /(^|\/)(postgres|postgis|mysql|mariadb|mongo|redis|valkey|keydb|memcached|rabbitmq|elasticsearch|opensearch|cassandra|zookeeper|kafka|nats|etcd|minio|clickhouse|couchdb|influxdb|neo4j|timescaledb|cockroach)[^/]*(:|@|$)/i;

/** Why the service keys with no cutover equivalent stay behind (the rest get a generic reason). */
const UNMAPPED_REASONS: Record<string, string> = {
  volumes:
    'cutover runs a new release beside the old one: keep state in a database or object store; a host path the app needs is baked into the image or left to the runtime',
  networks: 'cutover routes through its own proxy: instances share the host network (or bridge with container_port)',
  network_mode: 'instances use host networking, or network: bridge with container_port',
  container_name: 'two releases run side by side, so a fixed container name would collide',
  restart: 'cutover restarts a crashed instance itself (health.restart_after and a crash back-off)',
  build: 'cutover deploys images: build and push it in CI, tagged with the version you deploy',
  entrypoint: "cutover's command replaces the image's CMD, not its ENTRYPOINT: bake the entrypoint into the image",
  secrets: 'Compose secrets are files mounted in the container: give the values as env (env_file) instead',
  configs: 'Compose configs are files mounted in the container: bake them into the image',
  logging: 'instance output goes to `cutover logs` (server.logs rotates it)',
  expose: 'the port an instance listens on is $PORT',
  links: 'legacy Compose networking: reach other services by their address',
  extends: 'Compose resolves extends itself: run `docker compose config` and import its output',
  profiles: 'every imported service is deployed; pick them with --service',
  scale: 'replaced by deploy.replicas',
};

export function mapCompose(compose: Map, options: ComposeImportOptions): ComposeImport {
  const all = asMap(compose.services);
  const notes: ImportNote[] = [];
  const references: ComposeImport['references'] = [];
  const secrets = new Set<string>();
  const picked = pickServices(all, options.only, notes);
  const names = assignNames(picked, notes);
  const dependents = new Set<string>();
  const dependsOn = new globalThis.Map<string, string[]>();
  for (const from of picked) {
    const deps = dependencyNames(asMap(all[from]).depends_on);
    dependsOn.set(from, deps);
    for (const dep of deps) {
      if (!picked.includes(dep))
        notes.push({
          path: `services.${from}.depends_on.${dep}`,
          reason: `${dep} is not deployed by cutover: keep it running (with Compose or as a managed service) before ${from} deploys`,
        });
      else dependents.add(from);
    }
  }
  // Hosts (and host + path prefixes) claimed so far, to the cutover service that has them.
  const hostsTaken = new globalThis.Map<string, string>();
  const services = deployOrder(picked, dependsOn).map((from) =>
    mapService(from, names.get(from) as string, asMap(all[from]), {
      service: from,
      hostsTaken,
      options,
      notes,
      references,
      secrets,
      dependsOn: (dependsOn.get(from) ?? []).filter((dep) => picked.includes(dep)).map((dep) => names.get(dep) ?? dep),
      critical: dependents.has(from),
    }),
  );
  for (const key of Object.keys(compose)) {
    if (key === 'services' || key === 'version' || key === 'name') continue;
    notes.push({
      path: key,
      reason: key.startsWith('x-')
        ? 'an extension field: its anchors were applied where they were used'
        : `top-level ${key} have no cutover equivalent (${UNMAPPED_REASONS[key] ?? 'cutover does not manage them'})`,
    });
  }
  return { services, references, secrets: [...secrets].sort(), notes };
}

function pickServices(all: Map, only: readonly string[] | null, notes: ImportNote[]): string[] {
  if (only !== null) {
    for (const name of Object.keys(all))
      if (!only.includes(name))
        notes.push({ path: `services.${name}`, reason: 'not imported: not named in --service' });
    return Object.keys(all).filter((name) => only.includes(name));
  }
  const picked: string[] = [];
  for (const [name, raw] of Object.entries(all)) {
    const service = asMap(raw);
    const image = typeof service.image === 'string' ? service.image : '';
    if (DATA_STORE_IMAGE.test(image)) {
      notes.push({
        path: `services.${name}`,
        reason: `a data store (${image}): keep it where it runs; cutover deploys stateless services behind its proxy, two releases side by side`,
      });
    } else if (!answersOnPort(service)) {
      notes.push({
        path: `services.${name}`,
        reason:
          'no published port, routing label or HTTP health check: a worker or a job, which cutover has no traffic to switch for; run it with Compose or systemd (or give it a port and pass --service)',
      });
    } else picked.push(name);
  }
  return picked;
}

function answersOnPort(service: Map): boolean {
  if (Array.isArray(service.ports) && service.ports.length > 0) return true;
  if (labelsOf(service.labels).some(([key]) => /^traefik\.http\.routers\..*\.rule$/.test(key))) return true;
  return httpPathOf(healthTest(asMap(service.healthcheck).test)) !== null;
}

function assignNames(picked: string[], notes: ImportNote[]): globalThis.Map<string, string> {
  const names = new globalThis.Map<string, string>();
  const taken = new Set<string>();
  for (const from of picked) {
    const base = serviceNameFor(from);
    let name = base;
    for (let n = 2; taken.has(name); n++) name = `${base.slice(0, 60)}-${n}`;
    taken.add(name);
    names.set(from, name);
    if (name !== from)
      notes.push({
        path: `services.${from}`,
        reason: `renamed ${name}: cutover's service names are lowercase letters, digits and hyphens (they are used in paths and URLs)`,
      });
  }
  return names;
}

function dependencyNames(value: unknown): string[] {
  if (Array.isArray(value)) return value.filter((item): item is string => typeof item === 'string');
  return Object.keys(asMap(value));
}

/** Dependencies first, otherwise the file's order; a cycle (Compose refuses one) keeps the file's order. */
function deployOrder(picked: string[], dependsOn: globalThis.Map<string, string[]>): string[] {
  const ordered: string[] = [];
  const visiting = new Set<string>();
  const visit = (name: string): void => {
    if (ordered.includes(name) || visiting.has(name)) return;
    visiting.add(name);
    for (const dep of dependsOn.get(name) ?? []) if (picked.includes(dep)) visit(dep);
    visiting.delete(name);
    ordered.push(name);
  };
  for (const name of picked) visit(name);
  return ordered;
}

/** The keys mapService reads; every other key of the service becomes a note. */
const MAPPED_KEYS = new Set([
  'image',
  'pull_policy',
  'command',
  'environment',
  'env_file',
  'healthcheck',
  'deploy',
  'ports',
  'labels',
  'depends_on',
  'stop_grace_period',
]);

function mapService(from: string, name: string, service: Map, ctx: ServiceContext): ImportedService {
  const at = `services.${from}`;
  const entries: ImportEntry[] = [];
  const note = (key: string, reason: string): void => void ctx.notes.push({ path: `${at}.${key}`, reason });
  const env = mapEnvironment(from, service, ctx);
  const { hosts, routes } = routingOf(service, env.hosts, at, ctx.notes, ctx.hostsTaken, name);
  if (hosts.length > 0) entries.push({ key: 'hosts', value: hosts, comment: 'from its routing labels / VIRTUAL_HOST' });
  if (routes.length > 0)
    entries.push({
      key: 'routes',
      value: routes,
      comment: 'from its Traefik PathPrefix rule: a path under a shared host',
    });
  if (hosts.length === 0 && routes.length === 0)
    entries.push({
      key: 'hosts',
      value: [`${name}.localhost`],
      comment: 'set the host names users reach it by: the proxy routes by Host header',
    });
  entries.push({ key: 'runtime', value: ctx.options.runtime });

  if (typeof service.image === 'string') {
    const { image, tag } = imageWithVersionTag(service.image);
    entries.push({
      key: 'image',
      // The registry part may be Compose interpolation too (`${REGISTRY:-ghcr.io/acme}/web`).
      value: composeText(image, `${at}.image`, ctx),
      comment:
        tag === null || tag.includes('$')
          ? `was ${service.image}: a deploy names the tag, \`cutover deploy ${name} --version <tag>\``
          : `was ${service.image}: \`cutover deploy ${name} --version ${tag}\` deploys that tag`,
    });
  } else {
    entries.push({
      key: 'image',
      value: `${name}:\${VERSION}`,
      comment: 'Compose built it: push your image and name it here',
    });
  }
  const pull = ({ always: 'always', missing: 'if-missing', if_not_present: 'if-missing', never: 'never' } as const)[
    shown(service.pull_policy) as 'always'
  ];
  if (pull) entries.push({ key: 'pull', value: pull });
  else if (service.pull_policy !== undefined)
    note('pull_policy', `${shown(service.pull_policy)} has no cutover equivalent (always, if-missing or never)`);

  if (typeof service.command === 'string')
    entries.push({ key: 'command', value: composeText(service.command, `${at}.command`, ctx) });
  else if (Array.isArray(service.command))
    entries.push({
      key: 'command',
      value: service.command.map((word, i) => composeText(shown(word), `${at}.command.${i}`, ctx)),
    });

  entries.push(...mapPorts(service, env.setsPort, at, ctx));
  entries.push(...mapLabels(service, at, ctx.notes));
  if (Object.keys(env.values).length > 0) entries.push({ key: 'env', value: env.values, comment: env.comment });
  const files = envFilesOf(service.env_file, at, ctx.notes).map((file) => ctx.options.rebasePath(file));
  if (files.length > 0)
    entries.push({
      key: 'env_file',
      value: files,
      comment: 'read at each deploy, never copied here; env: above wins over them, as in Compose',
    });

  const deploy = asMap(service.deploy);
  const instances =
    (deploy.replicas !== undefined
      ? numberAt(deploy.replicas, `${at}.deploy.replicas`, ctx.notes)
      : numberAt(service.scale, `${at}.scale`, ctx.notes)) ?? 1;
  if (instances >= 1) entries.push({ key: 'instances', value: instances, comment: 'deploy.replicas' });
  else note('deploy.replicas', `${instances} replicas: cutover runs at least one instance`);
  entries.push(...mapDeploy(deploy, Math.max(1, instances), at, ctx));
  entries.push(mapHealth(service.healthcheck, at, ctx.notes));

  const grace = composeDuration(service.stop_grace_period);
  if (grace !== null && isZeroDuration(grace))
    note(
      'stop_grace_period',
      `${shown(service.stop_grace_period)}: cutover gives an instance time to finish its requests; its default grace period is used`,
    );
  else if (grace !== null) entries.push({ key: 'stop_grace_period', value: grace });
  else if (service.stop_grace_period !== undefined)
    note('stop_grace_period', `not a duration cutover reads: ${shown(service.stop_grace_period)}`);
  if (ctx.critical)
    entries.push({
      key: 'critical',
      value: true,
      comment: `depends_on ${ctx.dependsOn.join(', ')}: \`cutover deploy --all\` updates it after them, alone`,
    });

  for (const key of Object.keys(service)) {
    if (MAPPED_KEYS.has(key) || key.startsWith('x-')) continue;
    note(key, UNMAPPED_REASONS[key] ?? 'no cutover equivalent');
  }
  return { name, from, entries };
}
