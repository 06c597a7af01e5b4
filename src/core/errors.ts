/**
 * One error type for everything a user can see. `code` is stable (scripts and
 * the API match on it), `message` says what happened, `hint` says what to do.
 * The catalogue below is the single place codes are defined, so the CLI, the
 * API and the docs agree on them.
 */
export const ERROR_CATALOGUE = {
  CONFIG_INVALID: { status: 400, hint: 'Fix the fields listed above; nothing was changed.' },
  CONFIG_NOT_FOUND: {
    status: 400,
    hint: 'Pass --config <file> or run `cutover init` to write a starter cutover.yaml.',
  },
  SERVICE_NOT_FOUND: { status: 404, hint: 'Run `cutover status` to list the configured services.' },
  RELEASE_NOT_FOUND: { status: 404, hint: 'Run `cutover history <service>` to list the kept releases.' },
  OPERATION_NOT_FOUND: { status: 404, hint: 'The operation id may be from another state directory.' },
  DEPLOY_LOCKED: {
    status: 409,
    hint: 'Run `cutover status <service>` to see which operation holds the service; the lock is freed when it ends.',
  },
  INVALID_STATE: { status: 409, hint: 'Run `cutover status <service>` to see what the service is doing.' },
  NOTHING_TO_ROLL_BACK: {
    status: 409,
    hint: 'A rollback needs an earlier release that was active; see `cutover history <service>`.',
  },
  HEALTH_TIMEOUT: {
    status: 500,
    hint: 'Check the instance logs with `cutover logs <service> --release <id>`; traffic was not moved.',
  },
  HEALTH_FAILED: {
    status: 500,
    hint: 'Every new instance failed its health check after the start period: check the instance logs with `cutover logs <service> --release <id>` and the health settings (path, expect_status, start_period); traffic was not moved.',
  },
  INSTANCE_EXITED: {
    status: 500,
    hint: 'Check the instance logs with `cutover logs <service> --release <id>`; traffic was not moved.',
  },
  INSTANCE_START_FAILED: {
    status: 500,
    hint: 'Check `command` and `cwd` in the service config; traffic was not moved.',
  },
  SMOKE_FAILED: { status: 500, hint: 'The new release answered a smoke check wrongly; traffic was not moved.' },
  DEPLOY_ABORTED: { status: 500, hint: 'Traffic stayed on the release that was active.' },
  SWARM_ROLLED_BACK: {
    status: 500,
    hint: 'Swarm rolled its service update back; `docker service ps --no-trunc <service>` shows why each task failed. The previous release serves.',
  },
  KUBERNETES_ROLLED_BACK: {
    status: 500,
    hint: "Kubernetes' rollout of the Deployment did not finish and cutover undid it (as `kubectl rollout undo` does); `kubectl describe pods -l cutover.service=<service>` shows why the new pods were not Ready. The previous release serves.",
  },
  UNAUTHORIZED: {
    status: 401,
    hint: 'Send `Authorization: Bearer <token>`; the token is in <state_dir>/admin-token or CUTOVER_TOKEN.',
  },
  VERSION_INVALID: {
    status: 400,
    hint: 'Use a version such as v1.2.3, 2024-05-01.3 or a git sha: letters, digits, "_", "." and "-" only (a branch name like feature/x becomes feature-x).',
  },
  BAD_REQUEST: { status: 400, hint: 'Check the request body against the API reference in the README.' },
  USAGE_INVALID: {
    status: 400,
    hint: 'Run `cutover <command> --help` for its arguments and options (`cutover --help` lists the commands).',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    hint: "The request body is over the API's limit (1 MiB); send less at once (for SDK evaluation counts, report more often).",
  },
  TOO_MANY_REQUESTS: {
    status: 429,
    hint: 'Too many failed logins or wrong tokens from this address; wait for the time in Retry-After, then use the right token (<state_dir>/admin-token or CUTOVER_TOKEN).',
  },
  TOKEN_TOO_WEAK: {
    status: 400,
    hint: 'Use at least 32 random characters, e.g. `openssl rand -hex 32`, or unset the variable and cutover generates one in <state_dir>.',
  },
  NOT_FOUND: { status: 404, hint: 'Check the URL; the API lives under /api/v1.' },
  SERVER_UNREACHABLE: {
    status: 503,
    hint: 'Start it with `cutover server --config cutover.yaml`, or set CUTOVER_URL.',
  },
  SERVER_TIMEOUT: {
    status: 504,
    hint: 'The address accepted the connection but nothing answered in time: check that it is the admin address (server.admin) and that the server is not stuck (its log says).',
  },
  SERVER_NOT_CUTOVER: {
    status: 502,
    hint: 'Point CUTOVER_URL (or --url) at the admin address, server.admin in cutover.yaml (default 127.0.0.1:9900); the proxy address serves the apps, not the API.',
  },
  PORT_IN_USE: {
    status: 500,
    hint: 'Another program holds the address: stop it, or change the address in cutover.yaml.',
  },
  PORT_PERMISSION_DENIED: {
    status: 500,
    hint: 'Ports below 1024 need root or CAP_NET_BIND_SERVICE: use a port from 1024 up, or grant the capability to node.',
  },
  ADDRESS_NOT_AVAILABLE: {
    status: 500,
    hint: 'Listen on an address this machine has (`ip -brief address` lists them): 127.0.0.1 for this machine only, 0.0.0.0 for every interface.',
  },
  NO_UPSTREAM: { status: 503, hint: 'No healthy instance is routed for this host.' },
  ROUTER_UNAVAILABLE: {
    status: 503,
    hint: 'Start the router (nginx) with the main config cutover was given, or fix server.nginx in cutover.yaml.',
  },
  PROXY_START_FAILED: {
    status: 500,
    hint: 'The proxy process could not start; <state_dir>/logs/proxy.log says why. A proxy port another program holds is the usual cause: free it or change server.proxy.',
  },
  ROUTER_UNSUPPORTED: {
    status: 409,
    hint: 'The configured router cannot do this yet; the embedded proxy (server.router: proxy, the default) can.',
  },
  MAINTENANCE: {
    status: 503,
    hint: 'The service is in maintenance; `cutover maintenance off <service>` ends it.',
  },
  ROUTER_CONFIG_REJECTED: {
    status: 500,
    hint: "The router refused the rendered config (nginx -t); the previous config still serves. Fix the error shown (often in a file of the team's own nginx config).",
  },
  ROUTER_APPLY_FAILED: {
    status: 500,
    hint: 'The router could not switch (reload or verification failed); the last good config was restored and still serves.',
  },
  UPSTREAM_FAILED: {
    status: 502,
    hint: 'The instance closed the connection or did not answer in time; check its logs and health.',
  },
  UPSTREAM_TIMEOUT: {
    status: 504,
    hint: 'The instance did not connect or send its response head in time; check its logs, or raise services.<name>.timeouts.',
  },
  UPSTREAM_BUSY: {
    status: 503,
    hint: 'Every instance has its connections and queue full (services.<name>.instance_limits); retry after the Retry-After delay, or add instances.',
  },
  MISDIRECTED_REQUEST: {
    status: 421,
    hint: 'The request came over HTTPS for a host the certificate it was sent on does not serve; connect with that host name (SNI), or give its service tls.',
  },
  HTTP2_REQUIRED: {
    status: 505,
    hint: 'The service speaks gRPC (protocol: grpc): call it over HTTP/2 on the HTTPS listener (server.https), as gRPC clients do.',
  },
  INTERNAL: { status: 500, hint: 'This is a bug in cutover; the server log has the details.' },
  FORBIDDEN: {
    status: 403,
    hint: "The SDK token may only read flags and report evaluations (/api/v1/sdk/... and /ofrep/...), a client-side token only evaluate its environment's client-visible flags (/ofrep/...); use the admin token for the rest.",
  },
  FLAG_NOT_FOUND: { status: 404, hint: 'Run `cutover flags list` to see the flags of the environment.' },
  FLAG_EXISTS: {
    status: 409,
    hint: 'Change the existing flag with PUT or PATCH /api/v1/flags/<key> (`cutover flags set`).',
  },
  FLAG_CONFLICT: { status: 409, hint: 'The flag changed since you read it; read it again and retry.' },
  ENVIRONMENT_NOT_FOUND: {
    status: 404,
    hint: 'Flag environments are listed under `flags.environments` in cutover.yaml.',
  },
  CLIENT_TOKEN_NOT_FOUND: {
    status: 404,
    hint: 'Run `cutover flags tokens list` to see the client-side tokens and their ids.',
  },
  SEGMENT_NOT_FOUND: { status: 404, hint: 'Run GET /api/v1/segments to list the segments of the environment.' },
  FLAG_ROLLOUT_NOT_FOUND: { status: 404, hint: 'The rollout id may be from another state directory.' },
  FLAG_ROLLOUT_RUNNING: {
    status: 409,
    hint: 'Wait for the running rollout of this flag to finish, or abort it with `cutover flags rollout --abort <id>`.',
  },
  MIGRATION_INVALID: {
    status: 400,
    hint: 'Fix the migration file; `cutover migrate lint <dir>` shows what is wrong and where.',
  },
  MIGRATION_LINT_FAILED: {
    status: 400,
    hint: 'Run `cutover migrate lint <dir>` to see each finding with its safe alternative; nothing was started.',
  },
  MIGRATION_LOCKED: {
    status: 409,
    hint: 'Another runner is migrating this database; wait for it (pass --wait) and run again.',
  },
  ROLLBACK_PAST_CONTRACT: {
    status: 409,
    hint: 'Restore the backup taken before the contract migration (`cutover db restore <service> --backup <label>`), then roll back; or roll back anyway with `--force --reason "<why>"` (recorded).',
  },
  MIGRATION_CHECKSUM_MISMATCH: {
    status: 409,
    hint: 'An applied migration must not be edited: restore the file and write a new migration for the change.',
  },
  MIGRATION_FAILED: {
    status: 500,
    hint: 'The failed migration was not recorded as applied; fix it and run again (`cutover migrate status` shows where things stand).',
  },
  DATABASE_UNREACHABLE: { status: 503, hint: "Check the service's database.url and that the database server is up." },
  BACKUP_NOT_FOUND: { status: 404, hint: 'Run `cutover db backups` to list the kept backups.' },
  BACKUP_FAILED: {
    status: 500,
    hint: 'Check that pg_dump / pg_restore are installed (PG_BIN) and can reach the database.',
  },
  ANALYSIS_CONDITION_INVALID: {
    status: 400,
    hint: 'Fix the condition at the column shown: it may use `result`, its fields (result.p95, result[0]), numbers, "strings", true, false, null, the operators || && ! == != < <= > >= + - * / % and parentheses, and len(), isNaN(), abs(), default(value, fallback).',
  },
  ACME_ORDER_FAILED: {
    status: 502,
    hint: "The CA's problem document above says why. For http-01 the host's DNS must point at this server and port 80 must reach cutover's plain listener; for tls-alpn-01 port 443 must reach its TLS listener. A certificate already in use keeps serving; cutover retries with back-off.",
  },
  ENV_FILE_UNREADABLE: {
    status: 400,
    hint: "Create the file (or fix env_file in cutover.yaml: relative paths start at the config file's directory) and make it readable by the server; nothing was started and the active release serves on.",
  },
  COMPOSE_INVALID: {
    status: 400,
    hint: 'Fix the Compose file at the place shown (`docker compose config` checks it too); nothing was written.',
  },
  CERTIFICATE_HOST_INVALID: {
    status: 400,
    hint: 'A certificate host is a DNS name: labels of letters, digits and inner hyphens joined by dots, at most 253 characters (no wildcards, IP addresses, slashes or empty labels).',
  },
} as const;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class CutoverError extends Error {
  override readonly name = 'CutoverError';
  readonly code: ErrorCode;
  readonly hint: string;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { hint?: string; details?: unknown; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint ?? ERROR_CATALOGUE[code].hint;
    this.details = options.details;
  }

  get status(): number {
    return ERROR_CATALOGUE[this.code].status;
  }

  toJSON(): { code: ErrorCode; message: string; hint: string; details?: unknown } {
    return this.details === undefined
      ? { code: this.code, message: this.message, hint: this.hint }
      : { code: this.code, message: this.message, hint: this.hint, details: this.details };
  }
}

export function isCutoverError(value: unknown): value is CutoverError {
  return value instanceof CutoverError;
}
