import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Cidr } from '../../config/cidr.js';
import { CutoverError } from '../../core/errors.js';
import type { ReleaseCounters, Router, ServiceRoute } from '../index.js';
import { assertRoutesCompatible } from '../route-table.js';
import { ensurePrivateDir } from '../../store/private-files.js';
import { backendName, serverAddress, serverName, serviceKey } from './haproxy-names.js';
import { checkConfig, runningMasterPid, signalReload, startMaster, stopMaster } from './haproxy-process.js';
import { HaproxyRuntimeApi } from './haproxy-runtime-api.js';
import { DEFAULT_ROUTER_TRAFFIC, type RouterTrafficSettings } from '../router-traffic-settings.js';
import {
  renderHaproxyConfig,
  serverLimits,
  settingsFingerprint,
  type RenderedHaproxy,
} from './render-haproxy-config.js';
import { parseRequestLogLine, REQUEST_LOG_RING } from './request-log-line.js';
import { RequestLogStream } from './request-log-stream.js';
import { assignSlots, effectiveCanary } from './service-slots.js';
import { stateDifferences, waitForGeneration } from './served-state.js';
import { StatCounters, statKey } from './stat-counters.js';
import {
  hostsOf,
  RoutingState,
  shapeOf,
  type SavedRoutingState,
  type ServerAdmin,
  type ServerRecord,
  type ServiceState,
} from './routing-state.js';

export interface HaproxyRouterOptions {
  /** The haproxy binary (default `haproxy`, from PATH). */
  binary?: string;
  /** Where the frontend listens. */
  listen: { host: string; port: number };
  /** Holds haproxy.cfg, the map files, the stats socket and the pid file (owner-only). */
  stateDir: string;
  /** Worker threads (default 1). */
  threads?: number;
  /** How long a reload has to show its generation on the Runtime API (default 10 s). */
  verifyTimeoutMs?: number;
  /** `server.trusted_proxies`: whose X-Forwarded-*, X-Real-IP and Forwarded are believed (none by default). */
  trustedProxies?: readonly Cidr[];
  /** Client timeouts and limits, and each service's instance timeouts and limits (cutover's defaults when absent). */
  traffic?: RouterTrafficSettings;
  logger?: Logger;
}

/** How often `show stat` is read, so counters() answers a recent reading. */
const STAT_INTERVAL_MS = 250;
const DRAIN_POLL_MS = 25;

/**
 * The `Router` on HAProxy, driven through its Runtime API. cutover owns the
 * whole haproxy.cfg (render-haproxy-config.ts) and runs HAProxy as a
 * master-worker daemon that outlives cutover. A deploy never reloads it:
 * a release's instances are added as servers of a free backend slot and
 * enabled, the switch (or a canary weight) is one `set map` of the service's
 * routes.map value, draining is `set server … state drain` and waiting for
 * the server's current sessions to reach 0, removal is `del server`. Only a
 * new service, or a change of its hosts, default flag or canary shape
 * (sticky key, match rules), renders a new config, checked with `haproxy -c`
 * and loaded by a seamless reload (listeners handed over, `expose-fd listeners`);
 * the old worker hands the next request of each kept-alive connection to the
 * new one, which routes it (render-haproxy-config.ts, renderHandoffRules).
 *
 * Changes run one at a time (a promise chain), so the Runtime API sees them in order.
 */
export class HaproxyRouter implements Router {
  readonly kind = 'haproxy';
  private readonly options: HaproxyRouterOptions;
  private readonly binary: string;
  private readonly logger: Logger | undefined;
  private readonly api: HaproxyRuntimeApi;
  private readonly paths: {
    config: string;
    socket: string;
    handoff: string;
    pid: string;
    hostsMap: string;
    routesMap: string;
    state: string;
  };
  private readonly state = new RoutingState();
  private readonly counterBook = new StatCounters();
  /** Follows the worker's request log ring: the per-request latencies `show stat` does not have. */
  private readonly requestLog: RequestLogStream;
  private chain: Promise<unknown> = Promise.resolve();
  /** Set when a runtime change failed midway: the next apply reloads from the desired state, which repairs it. */
  private needsReload = false;
  private readonly runId = randomBytes(4).toString('hex');
  private reloads = 0;
  private readonly statTimer: NodeJS.Timeout;
  private closed = false;
  private lastRendered: RenderedHaproxy | null = null;
  /** The generation of the config the worker runs (its `show info` description). */
  private servedGeneration = '';
  /** The settings (settingsFingerprint) of the config the running HAProxy was loaded with; unknown before a start or an adopt. */
  private servedSettings: string | undefined = undefined;

  private constructor(options: HaproxyRouterOptions) {
    this.options = options;
    this.binary = options.binary ?? 'haproxy';
    this.logger = options.logger;
    const dir = path.resolve(options.stateDir);
    this.paths = {
      config: path.join(dir, 'haproxy.cfg'),
      socket: path.join(dir, 'haproxy.sock'),
      handoff: path.join(dir, 'handoff.sock'),
      pid: path.join(dir, 'haproxy.pid'),
      hostsMap: path.join(dir, 'haproxy-hosts.map'),
      routesMap: path.join(dir, 'haproxy-routes.map'),
      state: path.join(dir, 'haproxy-state.json'),
    };
    this.api = new HaproxyRuntimeApi({ socketPath: this.paths.socket });
    this.requestLog = new RequestLogStream({
      socketPath: this.paths.socket,
      logger: this.logger,
      onLine: (line) => {
        const entry = parseRequestLogLine(line);
        if (entry !== null) this.counterBook.recordRequest(entry);
      },
    });
    this.statTimer = setInterval(() => void this.readStats().catch(() => undefined), STAT_INTERVAL_MS);
    this.statTimer.unref();
  }

  get socketPath(): string {
    return this.paths.socket;
  }

  get pidFile(): string {
    return this.paths.pid;
  }

  /**
   * Starts HAProxy with a config of no service (checked first), or adopts
   * the one a previous run left running (its pid file names a live master
   * and its socket answers), which serves on with its routes: see adopt.
   */
  static async start(options: HaproxyRouterOptions): Promise<HaproxyRouter> {
    ensurePrivateDir(options.stateDir);
    const router = new HaproxyRouter(options);
    try {
      const running = runningMasterPid(router.paths.pid);
      if (running !== null && (await router.socketAnswers())) {
        await router.adopt(running);
        // Already following when adopting reloaded it; else the adopted worker's ring, what it holds first.
        router.requestLog.start();
        return router;
      }
      const rendered = router.render(router.nextGeneration());
      router.writeFiles(rendered);
      const check = await checkConfig(router.binary, router.paths.config);
      if (!check.ok) {
        throw new CutoverError(
          check.notRunnable ? 'ROUTER_UNAVAILABLE' : 'ROUTER_CONFIG_REJECTED',
          `haproxy -c refused cutover's config: ${check.reason}`,
          { hint: check.notRunnable ? 'Install HAProxy (2.6 or later), or set server.haproxy.binary.' : undefined },
        );
      }
      const started = await startMaster(router.binary, router.paths.config, router.paths.pid);
      if ('error' in started) throw new CutoverError('ROUTER_UNAVAILABLE', `haproxy did not start: ${started.error}`);
      await waitForGeneration(router.api, generationOf(rendered), options.verifyTimeoutMs ?? 10_000);
      router.lastRendered = rendered;
      router.servedGeneration = generationOf(rendered);
      router.servedSettings = router.settings();
      router.requestLog.start();
      router.saveState();
      router.logger?.info({ pid: started.pid, listen: options.listen }, 'haproxy started');
      return router;
    } catch (error) {
      clearInterval(router.statTimer);
      router.requestLog.close();
      throw error;
    }
  }

  /**
   * Takes over a running HAProxy with the state the previous run saved
   * (haproxy-state.json). When HAProxy holds exactly that (the worker's
   * generation, every server with its address and admin state, every
   * routes.map value), nothing changes and no connection is touched; else
   * it is reloaded from the saved state, which repairs it. Without a saved
   * state the first route set reloads it.
   */
  private async adopt(pid: number): Promise<void> {
    let saved: SavedRoutingState | null = null;
    try {
      saved = JSON.parse(fs.readFileSync(this.paths.state, 'utf8')) as SavedRoutingState;
    } catch {
      saved = null;
    }
    if (saved === null || saved.version !== 1) {
      this.needsReload = true;
      this.logger?.warn({ pid }, 'haproxy adopted without a saved state: the first route set reloads it');
      return;
    }
    this.state.restore(saved);
    for (const [key, record] of this.state.servers) this.counterBook.track(key, record.service, record.releaseId);
    this.servedGeneration = saved.generation ?? '';
    this.servedSettings = saved.settings;
    const mismatch = await stateDifferences(this.api, this.state, this.paths.routesMap, this.servedGeneration);
    // An HAProxy started by a cutover without the request log: the reload below adds it.
    if (!(await this.hasRequestLogRing())) mismatch.push(`no request log ring ${REQUEST_LOG_RING}`);
    this.lastRendered = this.render(this.servedGeneration === '' ? this.nextGeneration() : this.servedGeneration);
    // Settings only the config holds (trusted_proxies, threads) may have changed since that run rendered it.
    if (this.servedSettings !== this.settings()) mismatch.push('the config was rendered with other settings');
    if (mismatch.length === 0) {
      this.logger?.info({ pid, services: this.state.services.size }, 'haproxy adopted; its state matches');
      return;
    }
    this.logger?.warn(
      { pid, mismatch: mismatch.slice(0, 10) },
      'haproxy adopted with a state that differs: reloading it',
    );
    await this.enqueue(() => this.reload(this.render(this.nextGeneration())));
  }

  setRoute(route: ServiceRoute): Promise<void> {
    if (this.closed) return Promise.reject(new CutoverError('ROUTER_UNAVAILABLE', 'the haproxy router is closed'));
    try {
      // Checked now, so a refused route fails alone and changes nothing.
      const others = [...this.state.services.values()]
        .map((state) => state.route)
        .filter((r) => r.service !== route.service);
      assertRoutesCompatible([...others, route]);
      this.renderWith(route, 'check');
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.enqueue(() => this.apply(route));
  }

  setUpstreamHealthy(upstreamId: string, healthy: boolean): void {
    if (healthy === !this.state.unhealthy.has(upstreamId)) return;
    if (healthy) this.state.unhealthy.delete(upstreamId);
    else this.state.unhealthy.add(upstreamId);
    if (this.closed) return;
    const services = new Set(
      [...this.state.servers.values()].filter((s) => s.upstream.id === upstreamId).map((s) => s.service),
    );
    for (const service of services) {
      this.enqueue(() => this.syncHealth(service)).catch((error: unknown) => {
        this.needsReload = true;
        this.logger?.error(
          { err: error, upstream: upstreamId, healthy },
          'haproxy did not take a health change; the next apply repairs it',
        );
      });
    }
  }

  async drain(service: string, releaseId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    const routed = this.state.services.get(service)?.live.has(releaseId) === true;
    const records = [...this.state.servers.values()].filter((s) => s.service === service && s.releaseId === releaseId);
    const result = await this.drainServers(records, timeoutMs, !routed);
    this.logger?.info({ service, release: releaseId, ...result }, 'haproxy drain finished');
    return result;
  }

  async drainUpstream(upstreamId: string, timeoutMs: number): Promise<{ drained: boolean; closed: number }> {
    const records = [...this.state.servers.values()].filter((s) => s.upstream.id === upstreamId && s.admin !== 'ready');
    if (records.length === 0) return { drained: true, closed: 0 };
    await this.enqueue(() => Promise.resolve());
    // Deleted only when no route lists the upstream any more (an unhealthy one may come back).
    const routed = (record: ServerRecord): boolean =>
      this.state.desiredUpstreams(record.service, record.releaseId).has(record.upstream.id);
    return this.drainServers(records, timeoutMs, !records.some(routed));
  }

  counters(): ReleaseCounters[] {
    return this.counterBook.snapshots();
  }

  async refreshCounters(): Promise<void> {
    await this.readStats();
  }

  /** The release's latest latencies (ms) from the request log, up to LATENCY_SAMPLES_KEPT; empty before any. */
  latencySamples(service: string, releaseId: string): number[] {
    return this.counterBook.latencySamples(service, releaseId);
  }

  /** Stops HAProxy: the deliberate full stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.detach();
    const pid = runningMasterPid(this.paths.pid);
    if (pid !== null) await stopMaster(pid);
  }

  /** Lets go; HAProxy serves on with the routes it has, and the next run adopts it. */
  async detach(): Promise<void> {
    this.closed = true;
    clearInterval(this.statTimer);
    await this.chain.catch(() => undefined);
    this.requestLog.close();
  }

  /** Runs the job after the ones before it; the state is saved after each, for the next run to adopt. */
  private enqueue<T>(job: () => Promise<T>): Promise<T> {
    const next = this.chain.then(job, job).finally(() => this.saveState());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async apply(route: ServiceRoute): Promise<void> {
    const previous = this.state.services.get(route.service);
    const shape = shapeOf(route, previous?.shape ?? null);
    const configChanged =
      previous === undefined ||
      previous.route.default !== route.default ||
      hostsOf(previous.route).join(' ') !== hostsOf(route).join(' ') ||
      JSON.stringify(previous.shape) !== JSON.stringify(shape);
    const live = assignSlots(route, previous?.live ?? new Map(), previous?.known ?? new Map());
    const known = new Map([...(previous?.known ?? []), ...live]);
    const next: ServiceState = { route, shape, live, known };
    if (configChanged || this.needsReload) {
      await this.reloadWith(next);
      return;
    }
    try {
      await this.applyAtRuntime(next);
    } catch (error) {
      this.needsReload = true;
      throw new CutoverError(
        'ROUTER_APPLY_FAILED',
        `haproxy did not take the route of '${route.service}': ${error instanceof Error ? error.message : String(error)}`,
        { details: { service: route.service } },
      );
    }
  }

  /**
   * The switch without a reload: servers of the new releases are added (and
   * made ready) in their slots, which nothing routes to yet, and other ready
   * servers there drained; one `set map` then moves the traffic; servers of
   * releases that left the route are drained after it.
   */
  private async applyAtRuntime(next: ServiceState): Promise<void> {
    const service = next.route.service;
    for (const [releaseId, slot] of next.live) {
      const backend = backendName(service, slot);
      const wanted = this.state.desiredUpstreams(service, releaseId, next.route);
      for (const record of [...this.state.servers.values()].filter((s) => s.backend === backend)) {
        const keep = record.releaseId === releaseId && wanted.has(record.upstream.id);
        if (!keep && record.admin === 'ready') await this.setAdmin(record, 'drain');
      }
      for (const upstream of wanted.values()) {
        const key = statKey(backend, serverName(releaseId, upstream.id));
        let record = this.state.servers.get(key);
        if (
          record !== undefined &&
          (record.upstream.host !== upstream.host || record.upstream.port !== upstream.port)
        ) {
          await this.setAdmin(record, 'maint');
          await this.api.change(
            ['set', 'server', key, 'addr', upstream.host, 'port', String(upstream.port)],
            /^(\s*|.*changed.*|no need to change.*)$/s,
          );
          record.upstream = upstream;
        }
        if (record === undefined) {
          record = {
            service,
            releaseId,
            upstream,
            slot,
            backend,
            name: serverName(releaseId, upstream.id),
            admin: 'maint',
          };
          await this.api.change(
            ['add', 'server', key, serverAddress(upstream), ...serverLimits(this.traffic(), service)],
            /New server registered/,
          );
          this.state.servers.set(key, record);
          this.counterBook.track(key, service, releaseId);
        }
        await this.setAdmin(record, this.state.healthyAdmin(record, next.route));
      }
    }
    const value = this.state.routeValueOf(next);
    await this.api.change(['set', 'map', this.paths.routesMap, serviceKey(service), value]);
    this.state.services.set(service, next);
    for (const record of this.state.servers.values()) {
      if (record.service === service && !next.live.has(record.releaseId) && record.admin === 'ready')
        await this.setAdmin(record, 'drain');
    }
    // The map file follows, so a reload (or a restart) starts from the same values.
    this.writeMaps(this.render(this.nextGenerationPreview()));
  }

  /** Renders the whole config with `next`, checks it, reloads and waits for the new worker. */
  private async reloadWith(next: ServiceState): Promise<void> {
    const service = next.route.service;
    const previousState = this.state.services.get(service);
    const addedKeys: string[] = [];
    for (const [releaseId, slot] of next.live) {
      const backend = backendName(service, slot);
      const wanted = this.state.desiredUpstreams(service, releaseId, next.route);
      for (const record of this.state.servers.values()) {
        if (
          record.backend === backend &&
          !(record.releaseId === releaseId && wanted.has(record.upstream.id)) &&
          record.admin === 'ready'
        )
          record.admin = 'drain';
      }
      for (const upstream of wanted.values()) {
        const key = statKey(backend, serverName(releaseId, upstream.id));
        const record = this.state.servers.get(key) ?? {
          service,
          releaseId,
          upstream,
          slot,
          backend,
          name: serverName(releaseId, upstream.id),
          admin: 'maint' as ServerAdmin,
        };
        if (!this.state.servers.has(key)) addedKeys.push(key);
        record.upstream = upstream;
        this.state.servers.set(key, record);
        this.counterBook.track(key, service, releaseId);
      }
    }
    this.state.services.set(service, next);
    for (const record of this.state.servers.values()) {
      if (record.service !== service) continue;
      record.admin =
        next.live.has(record.releaseId) &&
        this.state.desiredUpstreams(service, record.releaseId).has(record.upstream.id)
          ? this.state.healthyAdmin(record, next.route)
          : record.admin === 'ready'
            ? 'drain'
            : record.admin;
    }
    const previousText = this.lastRendered;
    const rendered = this.render(this.nextGeneration());
    try {
      await this.reload(rendered);
    } catch (error) {
      // Back to what served: the state as it was, and its files.
      if (previousState === undefined) this.state.services.delete(service);
      else this.state.services.set(service, previousState);
      for (const key of addedKeys) this.state.servers.delete(key);
      if (previousText !== null) this.writeFiles(previousText);
      throw error;
    }
  }

  private async reload(rendered: RenderedHaproxy): Promise<void> {
    const started = performance.now();
    this.writeFiles(rendered);
    const check = await checkConfig(this.binary, this.paths.config);
    if (!check.ok) {
      throw new CutoverError(
        check.notRunnable ? 'ROUTER_UNAVAILABLE' : 'ROUTER_CONFIG_REJECTED',
        `haproxy -c refused the config: ${check.reason}`,
      );
    }
    const pid = runningMasterPid(this.paths.pid);
    if (pid === null)
      throw new CutoverError('ROUTER_UNAVAILABLE', `haproxy is not running (no live master in ${this.paths.pid})`);
    await this.readStats().catch(() => undefined);
    this.counterBook.rebase();
    signalReload(pid);
    await waitForGeneration(this.api, generationOf(rendered), this.options.verifyTimeoutMs ?? 10_000);
    this.lastRendered = rendered;
    this.servedGeneration = generationOf(rendered);
    this.servedSettings = this.settings();
    this.needsReload = false;
    // The new worker logs into a ring of its own.
    this.requestLog.reattach();
    this.logger?.info({ ms: Math.round(performance.now() - started) }, 'haproxy reloaded');
  }

  private async syncHealth(service: string): Promise<void> {
    const state = this.state.services.get(service);
    if (state === undefined) return;
    for (const record of this.state.servers.values()) {
      if (record.service !== service || !state.live.has(record.releaseId) || record.admin === 'drain') continue;
      if (!this.state.desiredUpstreams(service, record.releaseId).has(record.upstream.id)) continue;
      await this.setAdmin(record, this.state.healthyAdmin(record, state.route));
    }
    await this.api.change(['set', 'map', this.paths.routesMap, serviceKey(service), this.state.routeValueOf(state)]);
  }

  /**
   * Sets the servers to drain (when they may be deleted after), waits until
   * none has a current session or the timeout passed, then shuts down what
   * is left, puts them in maintenance (which closes their idle connections)
   * and deletes them.
   */
  private async drainServers(
    records: ServerRecord[],
    timeoutMs: number,
    remove: boolean,
  ): Promise<{ drained: boolean; closed: number }> {
    if (remove) {
      await this.enqueue(async () => {
        for (const record of records) if (record.admin === 'ready') await this.setAdmin(record, 'drain');
      });
    }
    const deadline = performance.now() + timeoutMs;
    const keys = records.map((r) => statKey(r.backend, r.name));
    let busy = 0;
    for (;;) {
      await this.readStats();
      busy = keys.reduce((sum, key) => sum + this.counterBook.current(key), 0);
      if (busy === 0 || performance.now() >= deadline) break;
      await delay(Math.min(DRAIN_POLL_MS, Math.max(1, deadline - performance.now())));
    }
    if (busy > 0) {
      for (const key of keys)
        if (this.counterBook.current(key) > 0) await this.api.change(['shutdown', 'sessions', 'server', key]);
    }
    if (remove) {
      await this.enqueue(async () => {
        for (const record of records) await this.removeServer(record);
      });
    }
    return { drained: busy === 0, closed: busy };
  }

  private async removeServer(record: ServerRecord): Promise<void> {
    const key = statKey(record.backend, record.name);
    if (!this.state.servers.has(key)) return;
    // Routed again meanwhile (a rollback): not ours to remove.
    if (record.admin === 'ready') return;
    await this.setAdmin(record, 'maint');
    // Idle connections and sessions being shut down close a moment later: del server waits for them.
    for (let tries = 0; ; tries++) {
      await this.readStats();
      const answer = await this.api.run(['del', 'server', key]);
      if (/Server deleted/.test(answer)) break;
      if (tries >= 100) {
        this.logger?.warn(
          { server: key, answer: answer.trim() },
          'haproxy kept a drained server (it still has connections)',
        );
        return;
      }
      await delay(20);
    }
    this.counterBook.retire(key);
    this.state.servers.delete(key);
  }

  private async setAdmin(record: ServerRecord, admin: ServerAdmin): Promise<void> {
    if (record.admin === admin) return;
    await this.api.change(['set', 'server', statKey(record.backend, record.name), 'state', admin]);
    record.admin = admin;
  }

  private renderWith(route: ServiceRoute, generation: string): RenderedHaproxy {
    const previous = this.state.services.get(route.service);
    const live = assignSlots(route, previous?.live ?? new Map(), previous?.known ?? new Map());
    const state: ServiceState = {
      route,
      shape: shapeOf(route, previous?.shape ?? null),
      live,
      known: previous?.known ?? new Map(),
    };
    // The new route's addresses must be writable too.
    for (const target of [route.target, effectiveCanary(route)?.target ?? null])
      for (const u of target?.upstreams ?? []) serverAddress(u);
    return this.render(generation, state);
  }

  /** The settings this router renders the config with (settingsFingerprint). */
  private settings(): string {
    return settingsFingerprint({
      ...(this.options.threads === undefined ? {} : { threads: this.options.threads }),
      trustedProxies: this.options.trustedProxies ?? [],
      traffic: this.traffic(),
    });
  }

  private traffic(): RouterTrafficSettings {
    return this.options.traffic ?? DEFAULT_ROUTER_TRAFFIC;
  }

  private render(generation: string, override?: ServiceState): RenderedHaproxy {
    return renderHaproxyConfig({
      listen: this.options.listen,
      socketPath: this.paths.socket,
      handoffSocketPath: this.paths.handoff,
      hostsMapPath: this.paths.hostsMap,
      routesMapPath: this.paths.routesMap,
      generation,
      services: this.state.serviceConfigs(override),
      ...(this.options.threads === undefined ? {} : { threads: this.options.threads }),
      trustedProxies: this.options.trustedProxies ?? [],
      traffic: this.traffic(),
    });
  }

  private nextGeneration(): string {
    return `${this.runId}-${++this.reloads}`;
  }

  private nextGenerationPreview(): string {
    return `${this.runId}-${this.reloads}`;
  }

  private writeFiles(rendered: RenderedHaproxy): void {
    this.writeMaps(rendered);
    writeFileAtomic(this.paths.config, rendered.config);
  }

  private writeMaps(rendered: RenderedHaproxy): void {
    writeFileAtomic(this.paths.hostsMap, rendered.hostsMap);
    writeFileAtomic(this.paths.routesMap, rendered.routesMap);
  }

  private saveState(): void {
    try {
      writeFileAtomic(
        this.paths.state,
        JSON.stringify({ ...this.state.save(), generation: this.servedGeneration, settings: this.servedSettings }),
      );
    } catch (error) {
      this.logger?.warn({ err: error, file: this.paths.state }, 'could not save the haproxy router state');
    }
  }

  private async readStats(): Promise<void> {
    if (this.closed) return;
    this.counterBook.ingest(await this.api.showStat());
  }

  private async hasRequestLogRing(): Promise<boolean> {
    const sinks = await this.api.run(['show', 'events']);
    return sinks.split('\n').some((line) => line.trim().startsWith(`${REQUEST_LOG_RING} `));
  }

  private async socketAnswers(): Promise<boolean> {
    try {
      await this.api.showInfo();
      return true;
    } catch {
      return false;
    }
  }
}

function generationOf(rendered: RenderedHaproxy): string {
  return /Generation ([A-Za-z0-9.-]+)\./.exec(rendered.config)?.[1] ?? '';
}

/** Write-then-rename: haproxy -c or a reload never reads a half-written file. Owner-only, like the rest of the state dir. */
function writeFileAtomic(file: string, text: string): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(temp, text, { mode: 0o600 });
  fs.renameSync(temp, file);
}
