/**
 * The cutover.yaml that `cutover init` writes. Every key is written out with
 * its default (config-defaults.ts; a test checks they agree), so the file is
 * also the reference for what can be set.
 */
export const STARTER_CONFIG = `# cutover.yaml: zero-downtime deploys for the services below.
# Every key is shown with its default value; delete the ones you don't change.
#
# Durations: 500ms, 1s, 1.5s, 2m, 1h, 1m30s, or a bare number of seconds.
# Strings may use \${NAME} or \${NAME:-default}, filled from the environment
# when this file is loaded. \${VERSION} \${PORT} \${SLOT} \${INSTANCE} \${HOST} are
# filled in for each instance when it starts. Write $\${...} for a literal \${...}.
# Relative paths are relative to this file's directory.

server:
  proxy: 127.0.0.1:8080     # where users' traffic arrives: host:port, :port (loopback) or [::1]:port
  # https: 0.0.0.0:443      # the proxy's TLS listener (off by default): services with tls are served
  #                         # there by SNI (README: "HTTPS in production")
  # redirect_http: true     # with https: plain HTTP for a host with a certificate gets 308 to HTTPS
  # acme:                   # the CA of services with tls: acme (RFC 8555; Let's Encrypt by default)
  #   directory: https://acme-v02.api.letsencrypt.org/directory
  #   email: ops@example.com  # the CA writes here about expiring certificates
  #   ca_bundle: ./ca.pem   # extra roots for the directory's own HTTPS (a private CA)
  admin: 127.0.0.1:9900     # admin API and dashboard; keep it on loopback
  state_dir: .cutover       # releases, logs and the admin token
  logs:                     # each instance's log: past max_size it is moved to <log>.1 (.1 to .2 ...),
    max_size: 10MiB         # keeping 'keep' old files; a release's logs go when it is pruned
    keep: 3
  # docker_host: unix:///var/run/docker.sock  # the Docker daemon of runtime: docker and swarm
  #                         # services (default: $DOCKER_HOST, else this socket)
  # swarm:                  # runtime: swarm across nodes: a task is dialled at its node's address
  #   node_addresses: { worker-1: 10.0.0.12 }  # by node ID or hostname (default: the node's
  #                         # Status.Addr, as \`docker node inspect\` shows it)
  router: proxy             # proxy: the embedded proxy, which switches without losing a request;
  #                         # nginx: render upstreams into the team's nginx and reload it
  #                         # (docs/nginx-router.md), with these keys:
  # nginx:
  #   main_config: /etc/nginx/nginx.conf         # tested with nginx -t -c, reloaded with nginx -s reload
  #   include_file: /etc/nginx/conf.d/cutover.conf  # the file cutover writes; main_config includes it in http {}
  #   binary: nginx
  #   pid_file: /run/nginx.pid                    # default: the pid directive of main_config
  #   prefix: /etc/nginx                          # nginx's -p, if it runs with one
  #   verify_timeout: 5s                          # a reload must show the new config by then, or it is undone
  #                         # haproxy: an HAProxy (2.6+) cutover runs itself, switched through its
  #                         # Runtime API with no reload; optional keys:
  # haproxy:
  #   binary: haproxy
  #   threads: 1
  #   verify_timeout: 10s                         # a reload (new service or hosts) must show by then
  trusted_proxies: []       # CIDR blocks of load balancers in front of the proxy (e.g. [10.0.0.0/8]):
  #                         # only their X-Forwarded-*, X-Real-IP and Forwarded are believed
  max_connections: 10000    # client connections held at once; one more is closed at once
  proxy_workers: auto       # proxy processes sharing the port: auto = one per core (at most 8), or a number
  client_timeouts:
    headers: 10s            # a client must send its whole request head by then (slowloris)
    request: 5m             # ... and its whole request, body included (0: no limit)
    keep_alive: 65s         # an idle keep-alive connection is closed after this long

services:
  web:                      # the service name: lowercase letters, digits and hyphens
    hosts: [web.localhost]  # Host headers routed here (default: <name>.localhost)
    default: true           # requests for unknown hosts go here (default: false, but
                            # true for the only service of a file)
    runtime: process        # process (local processes), docker (containers, see below)
                            # or swarm (a Docker Swarm service per release, see below)
                            # or kubernetes (Deployments, see below)
    command: node server.js # required; must listen on $PORT (or --port \${PORT}). Run without a
                            # shell: words, quotes and \${VERSION} \${PORT} \${SLOT} \${INSTANCE}
                            # \${HOST} inside words; a list [node, server.js] works too
    shell: false            # true: run command through /bin/sh as written (&&, |, $VAR); the
                            # values then come as $VERSION, $PORT, ... in its environment
    inherit_env: []         # names the app takes from the server's environment, e.g.
                            # [NODE_OPTIONS]; otherwise it gets only PATH, HOME, LANG, LC_*,
                            # TZ, TMPDIR, USER, its env: and cutover's values (never CUTOVER_*)
    # With runtime: docker each instance is a container of this image, on the
    # daemon at server.docker_host; command (optional) replaces the image's CMD.
    # image: registry/app:\${VERSION}  # required for docker
    # pull: if-missing      # always | if-missing | never
    # network: host         # host: shares the host network, listens on $PORT (a free
    #                       # loopback port); bridge: $PORT is published on 127.0.0.1
    # container_port: 8080  # bridge only: the app's port inside (default: same as $PORT)
    # resources: { cpus: 0.5, memory: 256m }  # default: no limits
    # labels: {}            # added to cutover.service, cutover.release, cutover.slot, cutover.instance
    # With runtime: swarm each release is a Swarm service (instances = replicas) on the
    # swarm manager at server.docker_host, made from the docker keys above (host network
    # only); its image needs /bin/sh. strategy: rolling becomes Swarm's own service update.
    # placement: [node.role==manager]  # swarm only: placement constraints (default: none)
    # With runtime: kubernetes each instance is a Deployment of one pod made from the
    # image, pull, resources and labels keys above (docs/kubernetes.md).
    # kubernetes:
    #   namespace: shop     # required: where the Deployments go
    #   kubeconfig: ./kube  # default: KUBECONFIG, ~/.kube/config, or the pod's service account
    #   context: prod       # default: the kubeconfig's current context
    #   network: pod        # pod: pod IPs on container_port; host: hostNetwork, a port per pod
    #   container_port: 8080  # network: pod only: the port every pod listens on
    #   address: 127.0.0.1  # network: host only: where pods listen (default: the pod's IP)
    cwd: ./app              # default: this file's directory
    env: {}                 # e.g. { NODE_ENV: production, DATABASE_URL: "\${DATABASE_URL}" }
    env_file: []            # dotenv files (KEY=value lines), e.g. [./web.env]: read again at each deploy
                            # (a missing one refuses the deploy, the running release serves on);
                            # a later file wins over an earlier one, env: above wins over all;
                            # redacted like env: (secret-looking names and secrets:)
    secrets: []             # env keys to redact in logs, snapshots and the API; keys matching
                            # secret, token, password, pass, api_key, private_key, credential
                            # or auth are redacted anyway
    instances: 1            # processes per release, each on its own port

    health:
      type: http            # http | tcp | command | grpc (the default of a protocol: grpc service)
      # tcp: true           # short for type: tcp
      path: /health         # http only
      expect_status: 200-399  # http only: 200, "200-399", "2xx" or [200, 299]
      # grpc_service: my.pkg.Shop  # grpc only: the name asked in grpc.health.v1.Health/Check
      #                     # (default "": the whole server); healthy when it answers SERVING
      # command: curl -fsS http://$HOST:$PORT/health   # command only (and implies it): exit 0 is healthy;
      #                     # a /bin/sh script reading PORT HOST VERSION SLOT INSTANCE from its env
      interval: 2s
      timeout: 1s
      healthy_threshold: 1    # passes in a row to become healthy
      unhealthy_threshold: 3  # failures in a row to become unhealthy; once every new instance is, the deploy
                              # fails at once (HEALTH_FAILED) with their last answers instead of at its timeout
      # retries: 3            # another name for unhealthy_threshold (Docker's)
      # failure_threshold: 3  # another name for unhealthy_threshold (Kubernetes')
      start_period: 0s        # failures during this time after start don't count
      restart_after: 3        # failures in a row after it turned unhealthy (out of rotation) before the
                              # instance is restarted in place, with the crash back-off; false: never

    strategy:               # or just: strategy: blue-green
      type: blue-green      # start the new release beside the old, switch traffic at once
      auto_switch: false    # false: once the new release is healthy, wait for 'cutover promote <service>'
      approval: false       # true: the switch waits for 'cutover approve <service>' (recorded with
                            # who approved), whatever auto_switch or --auto-switch say
      auto_cleanup: false   # true: stop the old release right after the switch, not after
                            # scale_down_delay (which keeps an instant rollback possible)
      scale_down_delay: 10m # how long the old release keeps running after a switch
      timeout: 2m           # from deploy until every new instance is healthy
      smoke: []             # requests sent to each new instance before traffic moves, e.g.
      # smoke:
      #   - /health           # GET, expecting 200-399
      #   - { path: /api/ping, method: GET, expect_status: 200, timeout: 5s }
      # pre_promotion: { window: 30s, analysis: [smoke-check] }  # judge the new release before the
      #                       # switch (web/command/prometheus providers: it has no user traffic yet)
      # post_promotion: { window: 5m, analysis: [error-rate] }  # judge after the switch; on a
      #                       # failure switch back to the old slot at once (needs scale_down_delay > window)
      # on_inconclusive: pause  # an analysis without enough data: pause (before the switch: wait for
      #                       # promote), fail (as a failed analysis) or continue (a warning)

    # Or a canary: the new release takes a growing share of traffic in steps while
    # analysis (below) judges it, and is rolled back automatically when it fails.
    # strategy:             # or just: strategy: canary (the defaults below)
    #   type: canary
    #   steps:              # default: 5, 25 and 50 percent for 30s each, then 100
    #     - { weight: 5, pause: 1m, analysis: [error-rate] }
    #     - { weight: 50, pause: promote }  # wait for 'cutover promote <service>'
    #     - { weight: 75, pause: 5m, approval: true }  # after the pause and its analysis, wait
    #                       # for 'cutover approve <service>' (recorded with who approved)
    #     - { weight: 100 } # added when the last step is below 100
    #                       # weight: 0-100, never going down; pause: a duration (default 0s:
    #                       # move on once the step's counted analysis is done) or promote
    #   canary_instances: 1 # default: instances
    #   stickiness: { by: cookie, name: cutover_canary }  # a user stays on one side:
    #                       # by cookie (set by the proxy), { by: header, name: X-User-Id } or ip
    #   match: []           # requests sent to the canary whatever the weight, e.g.
    #                       # [{ header: X-Canary, value: always }, { cookie: canary, value: "1" }]
    #   analysis: []        # templates run for the whole rollout
    #   post_promotion: { window: 5m, analysis: [error-rate] }  # keep judging after 100%
    #                       # (default: none; window defaults to 5m)
    #   scale_down_delay: 10m # how long the old release keeps running after promotion
    #   timeout: 2m         # from deploy until every canary instance is healthy
    #   on_restart: resume  # the controller restarted mid-rollout: resume at the same step and
    #                       # weight (never higher), or abort (every client back on the stable)
    #   on_inconclusive: pause  # an analysis without enough data: pause for a person, fail (roll
    #                       # back, as a failed analysis) or continue (a warning, the rollout goes on)

    # Or rolling: the instances are replaced in place, a batch at a time, with no
    # second full set running beside them.
    # strategy:             # or just: strategy: rolling (the defaults below)
    #   type: rolling
    #   parallelism: 1      # instances replaced per batch, at most instances
    #   # max_surge: 1      # or, with order: start-first, the batch size (instead of parallelism)
    #   # max_unavailable: 1  # or, with order: stop-first, the batch size (instead of parallelism)
    #   order: start-first  # start-first: each new instance is healthy before an old one stops;
    #                       # stop-first: an old instance stops first (no room for extra ones needed)
    #   delay: 0s           # wait between batches
    #   monitor: 5s         # after each batch, a new instance failing this soon still fails it;
    #                       # with analysis, at least the templates' interval (or initial_delay)
    #   failure_action: rollback  # rollback | pause (stop here and wait) | continue
    #   max_failure_ratio: 0  # share of instances (0-1) that may fail before failure_action
    #   timeout: 2m         # per batch, until its new instances are healthy
    #   analysis: []        # templates run during each batch's monitor window
    #   on_inconclusive: pause  # an analysis without enough data: pause (resume accepts the batch),
    #                       # fail (a failed batch: failure_action applies) or continue (a warning)

    # Or recreate: stop every instance, then start the new release. This causes
    # downtime: for development only.
    # strategy: recreate    # or { type: recreate, timeout: 2m } (until the new instances are healthy)

    drain_timeout: 30s      # how long in-flight requests may finish on the old release
    # tls: acme             # with server.https: this service's hosts over HTTPS, certificates from
    #                       # server.acme's CA (HTTP-01; { acme: tls-alpn-01 } for the other challenge),
    #                       # or the team's files: { cert: ./tls/fullchain.pem, key: ./tls/privkey.pem }
    # hsts: { max_age: 31536000, include_subdomains: false }  # Strict-Transport-Security on
    #                       # its HTTPS answers (max_age in seconds)
    # routes:               # paths of a host another service owns (or shares), answered here:
    #   - { host: shop.example.com, path_prefix: /api, strip_prefix: false }  # longest prefix wins;
    #                       # strip_prefix: true sends /api/users on as /users
    # max_body: 10MiB        # larger request bodies get 413 from the proxy (default: no limit)
    # protocol: grpc        # the instances speak gRPC (HTTP/2 cleartext); clients call it over HTTP/2
    #                       # on server.https, so it needs tls; a canary is judged on gRPC status codes
    # maintenance_page: ./maintenance.html  # HTML sent during \`cutover maintenance on\` (at most
    #                       # 64 KiB; cutover's own page when absent)
    stop_grace_period: 10s  # SIGTERM, then SIGKILL after this long
    rollback_limit: 5       # releases kept for \`cutover rollback --to\`
    critical: false         # for \`cutover deploy --all\`: other services are updated first,
                            # then the critical ones, one at a time

    # How the embedded proxy treats this service's instances.
    timeouts:
      connect: 5s           # to open a connection to an instance
      response_headers: 60s # for its response head (then 504)
      idle: 60s             # longest silence inside a response body (0: never, for streams)
    instance_limits:
      connections: 128      # per instance
      pending: 128          # requests waiting for a connection, per instance; past it: 503 + Retry-After
    passive_health:         # the requests themselves as a health check (like Envoy's outlier detection)
      consecutive_failures: 5  # connect errors, timeouts or 5xx in a row that take an instance
                               # out of rotation (0: never); never the last one of a release
      ejection_time: 30s    # out for this long, more after each further ejection...
      max_ejection_time: 5m # ...up to this

    # A PostgreSQL database whose migrations ship with the deploys (expand before
    # the new release starts, contract once no older release runs).
    # database:
    #   url: \${DATABASE_URL}  # a secret: redacted in snapshots, logs and the API
    #   migrations: ./migrations  # *.sql in expand/ and contract/ (or a header
    #                         # "-- cutover:phase contract"); may use \${VERSION}
    #   lint: true            # an unsafe pending migration stops the deploy before anything starts
    #   backup: { before_deploy: true, keep: 5 }   # pg_dump before pending migrations run; keep: automatic pre-<version>
    #                                                # dumps kept (manual 'cutover db backup' ones do not count)
    #   lock_timeout: 5s      # per migration: give up waiting for a lock (and retry) ...
    #   lock_retries: 3       # ... this many more times, with backoff
    #   statement_timeout: 5m
    #   wait_for_lock: 1m     # wait this long for another runner's migration lock
    #   auto_contract: true   # run contract migrations as soon as older releases are retired
    #   commands:             # or your own tool (alembic, prisma, knex, django), run under the
    #     expand: alembic upgrade head   # migration lock with DATABASE_URL, VERSION and
    #     contract: ./contract.sh        # CUTOVER_PHASE set; contract once no older release runs

# Feature flags (\`cutover flags\`, the admin API under /api/v1/flags, the SDK
# \`cutover/flags\`): each environment has its own flag set.
flags:
  environments: [production, staging]   # the first is the default
  stale_after: 30d        # \`cutover flags stale\`: one value for everyone, or no evaluation, this long
  require_approval: []    # e.g. [production]: changes there wait for a second person's
                          # \`cutover flags approve <change>\` (scheduled ones: when scheduled)
  # client:
  #   allowed_origins: [https://app.example.com]   # CORS for client-side tokens (OFREP)

# Notifications: deploy events sent to each target in order, off the deploy's
# path (a target that is down or slow never delays or fails a deploy). Kinds:
# started, switched, promoted, analysis_failed, aborted, failed, rolled_back,
# completed, flag_rollout_started, flag_rollout_succeeded, flag_rollout_failed,
# flag_change, maintenance.
notifications: []
# notifications:
#   - type: webhook           # JSON with X-Cutover-Signature: sha256=<hex>, the HMAC-SHA256 of
#                             # "<X-Cutover-Timestamp>.<raw body>" with the secret
#     url: https://deploys.example.com/hooks/cutover
#     secret: \${WEBHOOK_SECRET}  # webhook only; never logged, redacted wherever shown
#     name: ops               # for logs (default: <type>-<position in this list>)
#     events: [started, completed, failed, rolled_back]   # default: every kind
#     timeout: 5s             # per request
#     retries: 3              # further attempts after a failure (timeout, 5xx, 429, no connection)
#     backoff: 1s             # before the first retry, doubling for each next one
#     queue_limit: 100        # waiting notifications per target; past it the oldest is dropped
#   - { type: slack, url: "\${SLACK_WEBHOOK_URL}" }      # incoming webhook: text + blocks
#   - { type: discord, url: "\${DISCORD_WEBHOOK_URL}" }  # webhook: content + embeds
#                             # (their URLs hold a token: only scheme and host are ever shown)

# Secrets: environment variables whose \${NAME} values are never shown (API,
# /metrics, logs, the dashboard, notifications), besides names with secret,
# token, password, pass, key, credential, auth, dsn or DATABASE_URL in them.
secrets: []                   # e.g. [SENTRY_DSN, UPSTREAM_COOKIE]

# Analysis templates, used by name by canary and rolling strategies. Each
# metric is measured every interval; its value is \`result\` in the conditions,
# which may use result.field, result[0], numbers, "strings", == != < <= > >=
# && || ! + - * / %, len(), isNaN(), abs() and default(value, fallback).
analysis: {}
# analysis:
#   error-rate:               # the template name: lowercase letters, digits and hyphens
#     metrics:
#       - name: errors
#         provider: { builtin: error-rate }  # the proxy's own counters over the step:
#                             # error-rate (0-1), latency-p50, latency-p95, latency-p99 (ms),
#                             # request-count, or baseline (canary vs stable: 1 pass, 0 fail)
#         # provider: { type: builtin, metric: error-rate }   # the same, long form
#         # provider: { prometheus: { url: http://127.0.0.1:9090, query: "sum(rate(errors[1m]))", timeout: 5s } }
#         #                   # one number: a scalar or a vector of one series
#         # provider: { web: { url: http://127.0.0.1:8000/stats, method: GET, headers: {}, body: null, json_path: $.errors.rate, timeout: 5s } }
#         # provider: { command: { command: ./check.sh, timeout: 30s, inherit_env: [] } }
#         #                   # SERVICE, CANARY_RELEASE, STABLE_RELEASE, WINDOW_START in its env; result is
#         #                   # its JSON stdout if it exits 0 and prints JSON, else { exitCode, stdout, stderr }
#         interval: 10s
#         count: 5            # measurements to take (default: until the step ends)
#         initial_delay: 0s
#         failure_condition: result > 0.05   # at least one of the two conditions
#         success_condition: result <= 0.05
#         failure_limit: 0    # failed measurements tolerated
#         inconclusive_limit: 0 # measurements meeting neither condition tolerated
#         consecutive_error_limit: 4  # provider errors in a row tolerated (e.g. "no requests yet")
#     load: { rate: 5, path: /api/ping, only_below: 5, method: GET, timeout: 5s }
#                             # for a quiet service: while real traffic to the new release is below
#                             # only_below req/s (default: rate), send rate req/s (1-50) straight to its
#                             # instances, marked X-Cutover-Synthetic: 1, never through the proxy;
#                             # builtin error-rate and latency count their answers, and say so
`;
