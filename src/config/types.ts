import type { CanaryStepConfig } from '../core/canary-strategy.js';
import type { HealthThresholds } from '../core/health-state.js';
import type { AcmeConfig } from './acme-schema.js';
import type { Cidr } from './cidr.js';

/**
 * The resolved, defaulted configuration. `load-config.ts` turns cutover.yaml
 * into these objects once; nothing past the boundary re-checks raw input.
 * Durations are milliseconds, paths are absolute.
 */
export interface ListenAddress {
  host: string;
  port: number;
}

export interface ServerConfig {
  proxy: ListenAddress;
  /** The embedded proxy's TLS listener (`server.https`); absent: plain HTTP only. */
  https?: ListenAddress;
  /** The CA of `tls: acme` services (Let's Encrypt production by default). */
  acme: AcmeConfig;
  /** With `https`: plain HTTP requests for a host that has a certificate get 308 to HTTPS (ACME challenges excepted). */
  redirectHttp: boolean;
  admin: ListenAddress;
  /** Absolute path of the state directory (SQLite store, logs, admin token). */
  stateDir: string;
  /** `server.docker_host` as written (unix:///path, a socket path, tcp://host:port); absent: DOCKER_HOST, else /var/run/docker.sock. */
  dockerHost?: string;
  /** `server.swarm`: the address cutover dials a swarm node's tasks at, by node ID or hostname (absent: its Status.Addr). */
  swarm: { nodeAddresses: Record<string, string> };
  /** Which router moves traffic: the embedded proxy (default), the team's nginx, or an HAProxy cutover runs. */
  router: 'proxy' | 'nginx' | 'haproxy';
  /** Present exactly when `router` is nginx. */
  nginx?: NginxRouterConfig;
  /** Present exactly when `router` is haproxy. */
  haproxy?: HaproxyRouterConfig;
  /** Peers whose X-Forwarded-* / X-Real-IP / Forwarded headers the proxy believes; empty: nobody. */
  trustedProxies: Cidr[];
  /** Most client connections the proxy holds; one more is closed at once. */
  maxConnections: number;
  /** Processes of the embedded proxy accepting on its port (`server.proxy_workers`, `auto`: one per core, at most 8). */
  proxyWorkers: number;
  /** How slow a client may be: the whole head, the whole request (0: no limit), an idle keep-alive connection. */
  clientTimeouts: { headersMs: number; requestMs: number; keepAliveMs: number };
  /** Instance logs: rotated past maxBytes, keeping `keep` old files (<log>.1 ... <log>.keep). */
  logs: { maxBytes: number; keep: number };
}

/** How the proxy treats a service's instances (`timeouts`, `instance_limits`, `passive_health`). */
export interface UpstreamTrafficConfig {
  connectTimeoutMs: number;
  responseHeadersTimeoutMs: number;
  /** Longest silence inside a response body (0: never). */
  idleTimeoutMs: number;
  /** Per instance: connections, and requests waiting for one; past both, 503 with Retry-After. */
  connectionsPerInstance: number;
  pendingPerInstance: number;
  /** Consecutive connect errors, timeouts or 5xx that eject an instance (0: never), and the back-off. */
  passiveHealth: { consecutiveFailures: number; ejectionMs: number; maxEjectionMs: number };
}

/** `server.haproxy`, defaulted. HAProxy's files (config, maps, stats socket, pid file) live in `<state_dir>/haproxy`. */
export interface HaproxyRouterConfig {
  binary: string;
  threads: number;
  verifyTimeoutMs: number;
}

/** `server.nginx`, with paths made absolute. */
export interface NginxRouterConfig {
  /** The nginx.conf nginx runs with (`-c`); it includes `includeFile` inside http {}. */
  mainConfig: string;
  /** The one file cutover writes. */
  includeFile: string;
  binary: string;
  /** Absent: read from the `pid` directive of the main config (`nginx -T`). */
  pidFile?: string;
  /** `-p` for nginx commands, when the team's nginx runs with a prefix of its own (relative paths in its config start there). */
  prefix?: string;
  /** How long a reload may take to show the new config before the last good one is restored. */
  verifyTimeoutMs: number;
}

export interface HttpHealthCheck {
  type: 'http';
  path: string;
  /** Inclusive status range counted as healthy, default [200, 399]. */
  expectStatus: [number, number];
}

export interface TcpHealthCheck {
  type: 'tcp';
}

/** grpc.health.v1.Health/Check over HTTP/2 cleartext; `service` is the name asked about ('' = the whole server). */
export interface GrpcHealthCheck {
  type: 'grpc';
  service: string;
}

export interface CommandHealthCheck {
  type: 'command';
  /** Run through /bin/sh with PORT, HOST, VERSION, SLOT, INSTANCE set (as env, never spliced in); exit 0 is healthy. */
  command: string;
  /** The service's `inherit_env`: the check runs with the same environment rules as its instances. */
  inheritEnv: string[];
}

export type HealthCheckKind = HttpHealthCheck | TcpHealthCheck | CommandHealthCheck | GrpcHealthCheck;

/** The thresholds (healthy, unhealthy, start period) are core's: see core/health-state.ts. */
export interface HealthConfig extends HealthThresholds {
  check: HealthCheckKind;
  intervalMs: number;
  timeoutMs: number;
  /**
   * Failed checks in a row, after the instance turned unhealthy (out of rotation), before it is
   * restarted in place (Kubernetes liveness); 0: never. Restarts use the crash-restart back-off.
   */
  restartAfter: number;
}

export interface SmokeCheck {
  /** Path requested on each instance of the new release directly, bypassing the proxy. */
  path: string;
  method: 'GET' | 'HEAD' | 'POST';
  expectStatus: [number, number];
  timeoutMs: number;
}

/**
 * What an inconclusive analysis (no data, too many errors, neither condition met) does:
 * `pause` waits for a person, `fail` fails the deploy as a failed analysis would, `continue` goes on
 * (recorded as a warning). No data never passes silently.
 */
export type OnInconclusive = 'pause' | 'fail' | 'continue';

export interface BlueGreenStrategyConfig {
  type: 'blue-green';
  autoSwitch: boolean;
  /** The switch waits for `cutover approve` (never automatic, whatever auto_switch or --auto-switch say). */
  approval?: boolean;
  autoCleanup: boolean;
  /** How long the old slot keeps running after a switch, for an instant rollback. */
  scaleDownDelayMs: number;
  /** Maximum time from the deploy request until every new instance is healthy. */
  deployTimeoutMs: number;
  smoke: SmokeCheck[];
  /** After the switch: keep judging for a window and switch back to the old slot automatically on failure. */
  postPromotion: { windowMs: number; analysis: string[] } | null;
  /**
   * Before the switch (after health and smoke checks): judge the new release for a window with
   * providers that can see it without user traffic (web, command, prometheus). Failed: the deploy
   * fails; inconclusive: it waits for a person's promote.
   */
  prePromotion: { windowMs: number; analysis: string[] } | null;
  onInconclusive: OnInconclusive;
}

// A canary step is core's (core/canary-strategy.ts drives it); re-exported for the config code.
export type { CanaryStepConfig } from '../core/canary-strategy.js';

/** Who a client is, for sticky weighted routing: a cookie the proxy sets, a request header, or the client IP. */
export interface StickinessConfig {
  by: 'cookie' | 'header' | 'ip';
  /** Cookie or header name (ignored for ip). */
  name: string;
}

/** A request matching any rule goes to the canary whatever the weight (testers: `X-Canary: always`). */
export interface CanaryMatchRule {
  header?: string;
  cookie?: string;
  value: string;
}

export interface CanaryStrategyConfig {
  type: 'canary';
  steps: CanaryStepConfig[];
  /** Instances of the canary release; the stable keeps `instances`. */
  canaryInstances: number;
  stickiness: StickinessConfig;
  match: CanaryMatchRule[];
  /** Templates run in the background for the whole rollout. */
  analysis: string[];
  /** After 100%: keep judging for a window and roll back automatically on failure. */
  postPromotion: { windowMs: number; analysis: string[] } | null;
  scaleDownDelayMs: number;
  /** Maximum time until every canary instance is healthy. */
  deployTimeoutMs: number;
  /**
   * A controller restarted during the rollout: `resume` takes the canary back at
   * its persisted step and weight (never higher), `abort` puts every client back
   * on the stable release and stops the canary.
   */
  onRestart: 'resume' | 'abort';
  onInconclusive: OnInconclusive;
}

/**
 * Rolling: replace the instances of the running release in batches, in place
 * (no second full set). Traffic follows the share of healthy new instances.
 */
export interface RollingStrategyConfig {
  type: 'rolling';
  /** Instances replaced per batch. `max_surge` (start-first) or `max_unavailable` (stop-first) set it too. */
  parallelism: number;
  /** start-first: a new instance is healthy before the old one stops (no capacity loss); stop-first: the other way round. */
  order: 'start-first' | 'stop-first';
  /** Wait between batches. */
  delayMs: number;
  /** After each batch, a new instance that turns unhealthy or exits within this window still fails the batch. */
  monitorMs: number;
  failureAction: 'rollback' | 'pause' | 'continue';
  /** Share of instances (0-1) allowed to fail before failure_action applies; 0: the first failure does. */
  maxFailureRatio: number;
  /** Maximum time for one batch's new instances to become healthy. */
  deployTimeoutMs: number;
  /** Analysis templates run during each batch's monitor window. */
  analysis: string[];
  onInconclusive: OnInconclusive;
}

/** Recreate: stop every instance, then start the new version. Causes downtime: for development only. */
export interface RecreateStrategyConfig {
  type: 'recreate';
  deployTimeoutMs: number;
}

export type StrategyConfig =
  BlueGreenStrategyConfig | CanaryStrategyConfig | RollingStrategyConfig | RecreateStrategyConfig;

/** Where a metric comes from. */
export type MetricProviderConfig =
  | {
      type: 'builtin';
      /**
       * error-rate: 5xx share of the canary's responses (0-1); latency-pNN: ms; request-count;
       * baseline: the statistical judge of canary vs stable (result is 1 pass, 0 fail, NaN inconclusive).
       */
      metric: 'error-rate' | 'latency-p50' | 'latency-p95' | 'latency-p99' | 'request-count' | 'baseline';
    }
  | { type: 'prometheus'; url: string; query: string; timeoutMs: number }
  | {
      type: 'web';
      url: string;
      method: 'GET' | 'POST';
      headers: Record<string, string>;
      body: string | null;
      jsonPath: string;
      timeoutMs: number;
    }
  | {
      type: 'command';
      command: string;
      timeoutMs: number;
      /** Where the command runs: the config file's directory (so `./check.sh` sits next to cutover.yaml); the working directory when absent. */
      cwd?: string;
      /** `inherit_env`: names taken from the server's environment besides the minimal base; never CUTOVER_*. */
      inheritEnv?: string[];
    };

export interface AnalysisMetricConfig {
  name: string;
  provider: MetricProviderConfig;
  intervalMs: number;
  initialDelayMs: number;
  /** Measurements to take; null: until the step ends. */
  count: number | null;
  successCondition: string | null;
  failureCondition: string | null;
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
}

export interface AnalysisTemplateConfig {
  name: string;
  metrics: AnalysisMetricConfig[];
  /** Synthetic requests while real traffic to the new release is thin; absent: none. */
  load?: AnalysisLoadConfig;
}

/** `load:` of a template (see analysis-schema.ts): what the synthetic load sends, how often, and when it holds off. */
export interface AnalysisLoadConfig {
  /** Requests per second, 1..50. */
  rate: number;
  /** The request target on each instance, starting with "/". */
  path: string;
  method: 'GET' | 'HEAD';
  /** The load runs only while real traffic to the release is below this many requests per second. */
  onlyBelow: number;
  /** Per request; a slower answer counts as a failed request. */
  timeoutMs: number;
}

export interface ServiceConfig {
  name: string;
  hosts: string[];
  /** Requests for a host no service claims go to the default service. */
  default: boolean;
  runtime: 'process' | 'docker' | 'swarm' | 'kubernetes';
  /**
   * Command line (a YAML list is joined into one, quoted). Process runtime: split into words
   * (config/command-words.ts) and executed without a shell; ${VERSION} ${PORT} ${SLOT} ${INSTANCE} ${HOST}
   * are substituted inside single words at start. With `shell`, run by /bin/sh as written, the values in its env.
   * Docker: split into words and run as the container's command (no shell); '' keeps the image's CMD.
   */
  command: string;
  /** Process runtime: run `command` through /bin/sh; placeholders are not spliced in, they are env variables. */
  shell: boolean;
  /** Names taken from the server's environment besides the base of child-environment.ts; never CUTOVER_*. */
  inheritEnv: string[];
  /**
   * Present exactly when `runtime` is docker, swarm or kubernetes (a swarm service's tasks and a Kubernetes
   * pod are made from the same image, pull, resources and labels keys).
   */
  docker?: DockerServiceConfig;
  /** Present exactly when `runtime` is swarm. */
  swarm?: SwarmServiceConfig;
  /** Present exactly when `runtime` is kubernetes. */
  kubernetes?: KubernetesServiceConfig;
  cwd: string;
  env: Record<string, string>;
  /**
   * Dotenv files (absolute paths), read at each deploy (env-files.ts): later files win over earlier ones,
   * and `env` wins over all of them, as in Compose. Their values never enter the config or the store.
   */
  envFiles: string[];
  /** Env keys whose values are redacted in snapshots, logs and API answers (besides the built-in patterns). */
  secrets: string[];
  instances: number;
  health: HealthConfig;
  strategy: StrategyConfig;
  drainTimeoutMs: number;
  stopGracePeriodMs: number;
  /** Releases kept for `rollback --to`, newest first. */
  rollbackLimit: number;
  /** The team's own HTML page for users while the service is in maintenance (absolute path), or null for cutover's. */
  maintenancePage: string | null;
  /** For `deploy --all`: non-critical services are updated first, then critical ones one at a time. */
  critical: boolean;
  database: DatabaseConfig | null;
  /** The embedded proxy's timeouts, queue bound and passive health for this service's instances. */
  traffic: UpstreamTrafficConfig;
  /** Present when the service's hosts are served over HTTPS: the team's certificate files (absolute paths). */
  tls?: ServiceTlsConfig;
  /** Present when its HTTPS answers carry Strict-Transport-Security. */
  hsts?: HstsConfig;
  /** Present when it answers paths of shared hosts (`routes`); their hosts are served with its certificate too. */
  paths?: PathRouteConfig[];
  /** Present when request bodies are limited (`max_body`, bytes): bigger ones get 413 from the proxy. */
  maxBodyBytes?: number;
  /** `grpc`: the instances speak gRPC over HTTP/2 cleartext, and clients call it over HTTP/2 (HTTPS listener). */
  protocol?: 'grpc';
}

export interface PathRouteConfig {
  host: string;
  prefix: string;
  strip: boolean;
}

/** The team's own files (absolute paths), or certificates cutover obtains from `server.acme`'s CA, one per host. */
export type ServiceTlsConfig =
  | {
      source: 'files';
      /** PEM certificate chain, leaf first. */
      certFile: string;
      keyFile: string;
    }
  | { source: 'acme'; challenge: 'http-01' | 'tls-alpn-01' };

export interface HstsConfig {
  maxAgeSec: number;
  includeSubdomains: boolean;
}

/** How the containers of a `runtime: docker` service are made. */
export interface DockerServiceConfig {
  /** Image reference; ${VERSION} is substituted at start, e.g. registry/app:${VERSION}. */
  image: string;
  /** always: pull before every start; if-missing: pull when the daemon lacks it; never: use what the daemon has. */
  pull: 'always' | 'if-missing' | 'never';
  /** host: the container shares the host's network and listens on PORT (a free loopback port); bridge: PORT is published on loopback. */
  network: 'host' | 'bridge';
  /** bridge only: the port the app listens on inside the container; null: the same number as the published port. */
  containerPort: number | null;
  /** null: no limit. */
  cpus: number | null;
  memoryBytes: number | null;
  /** Added to cutover's own labels (cutover.service, cutover.release, cutover.slot, cutover.instance). */
  labels: Record<string, string>;
}

/** What a `runtime: swarm` service adds to the docker settings; `instances` are its replicas. */
export interface SwarmServiceConfig {
  /** Swarm placement constraints, passed through as written, e.g. node.role==manager. */
  placement: string[];
}

/** Where a `runtime: kubernetes` service's Deployments go and how cutover reaches their pods. */
export interface KubernetesServiceConfig {
  namespace: string;
  /** Absolute path of a kubeconfig file; null: KUBECONFIG / ~/.kube/config, or the pod's service account in a cluster. */
  kubeconfig: string | null;
  /** A context of the kubeconfig; null: its current context. */
  context: string | null;
  /**
   * pod: every pod has its own IP and listens on `containerPort` (a normal cluster); host: pods share
   * their node's network (`hostNetwork: true`) and each instance listens on a port cutover picks.
   */
  network: 'pod' | 'host';
  /** The port every pod listens on with network: pod; null with network: host. */
  containerPort: number | null;
  /**
   * network: host only: the address every pod listens on and cutover dials (and the kubelet probes), e.g.
   * 127.0.0.1 on a single node; null: the pod's IP, its node's address.
   */
  address: string | null;
}

export interface DatabaseConfig {
  /** A secret (it holds the password): redacted in snapshots, logs and API answers. */
  url: string;
  /** Absolute; may hold ${VERSION}, substituted with the version being deployed. Null: no migrations. */
  migrations: string | null;
  /** Lint pending migrations before a deploy; an error finding stops it before anything starts. */
  lint: boolean;
  backupBeforeDeploy: boolean;
  backupsKept: number;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  lockRetries: number;
  /** How long a runner waits for another's migration lock; 0 stops at once. */
  waitForLockMs: number;
  /** Run unblocked contract migrations as soon as the releases that predate them are retired. */
  autoContract: boolean;
  /**
   * A team's own migration tool instead of (or after) the SQL files: run under the
   * migration lock with DATABASE_URL, VERSION and CUTOVER_PHASE in its environment;
   * `expand` before a release starts, `contract` once no older release runs.
   */
  commands: { expand: string | null; contract: string | null };
}

/** One `notifications:` target; src/notify/ delivers to it (see notifications-schema.ts for the kinds). */
export interface NotificationTargetConfig {
  type: 'webhook' | 'slack' | 'discord';
  /** For logs: `name`, or `<type>-<position in the list>`. */
  name: string;
  /** A secret for Slack and Discord (the token is in the path): shown only as scheme, host and port. */
  url: string;
  /** webhook only: the HMAC-SHA256 key of X-Cutover-Signature. */
  secret: string | null;
  events: NotificationKind[];
  /** Per request: connect, headers and body. */
  timeoutMs: number;
  /** Further attempts after a failed one, `backoffMs` apart, doubling each time. */
  retries: number;
  backoffMs: number;
  /** Notifications waiting per target; the oldest is dropped (with a warning) past this. */
  queueLimit: number;
}

export type NotificationKind =
  | 'started'
  | 'switched'
  | 'promoted'
  | 'analysis_failed'
  | 'aborted'
  | 'failed'
  | 'rolled_back'
  | 'completed'
  | 'flag_rollout_started'
  | 'maintenance'
  | 'flag_rollout_succeeded'
  | 'flag_rollout_failed'
  /** A scheduled flag change made, applied, failed or cancelled; a change proposed, approved or rejected. */
  | 'flag_change';

export interface CutoverConfig {
  /** Absolute path of the file this was loaded from, or null when built in code. */
  file: string | null;
  server: ServerConfig;
  services: Record<string, ServiceConfig>;
  /** Named analysis templates, referenced by strategies. */
  analysis: Record<string, AnalysisTemplateConfig>;
  flags: FlagsConfig;
  /** Where deploy events are sent; empty: nowhere. */
  notifications: NotificationTargetConfig[];
  /**
   * Values substituted from a `${NAME}` whose name looks secret or is listed
   * in the top-level `secrets:`, recorded at load for SecretRedactor.
   */
  secretValues?: string[];
}

export interface FlagsConfig {
  /** Where flags live; the first is the default of every flag route and command. */
  environments: string[];
  client: FlagsClientConfig;
  /** `flags.stale_after`: one value for everyone, or no evaluation, for this long makes a flag stale. */
  staleAfterMs: number;
  /** `flags.require_approval`: environments whose flag changes wait for a second person's approval. */
  requireApproval: string[];
}

export interface FlagsClientConfig {
  /** `flags.client.allowed_origins`: the browser origins granted CORS on /ofrep/ (client-side tokens). */
  allowedOrigins: string[];
}
