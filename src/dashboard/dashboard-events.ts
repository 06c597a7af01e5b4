import type { Staleness } from '../flags/flag-staleness.js';
import { routerInUse } from '../config/router-in-use.js';
import { SecretRedactor } from '../config/secret-redactor.js';
import { eventMessage, openEventStream } from '../http/server-sent-events.js';
import type { ServerResponse } from 'node:http';
import type { Controller } from '../controller/controller.js';
import type { ServiceStatus } from '../controller/service-status.js';
import type { FlagService } from '../flags/flag-service.js';
import type { ReleaseCounters } from '../router/index.js';
import type { EventRecord } from '../store/records.js';
import { releaseRates, type MetricsPoint } from './release-rates.js';

/**
 * What GET /api/v1/events/stream pushes to the dashboard, as Server-Sent
 * Events:
 *   hello     on connect: the router in use, every service's status, the flags, the recent metrics
 *   event     every recorded event (a deploy's steps), as stored
 *   services  every service's status, after events and whenever it changed
 *   metrics   once a second: per-release requests/s, error rate, p95
 *   flags     the flag list of the default environment, after a change
 * One hub serves every open stream: it reads the counters and the status
 * once per tick, not once per browser.
 */
const TICK_MS = 1000;
/** Two minutes of one-second points, so a page opened mid-deploy starts with a chart. */
const HISTORY_POINTS = 120;
const RETRY_MS = 1000;
/** How long a tick waits for a fresh reading of a proxy in another process before it uses the last one. */
const COUNTERS_WAIT_MS = 800;

interface StreamClient {
  response: ServerResponse;
  /** False once the session behind the stream expired or logged out: the stream ends. */
  alive: () => boolean;
}

export class DashboardEventHub {
  private readonly clients = new Set<StreamClient>();
  private readonly history: MetricsPoint[] = [];
  private pendingEvents: EventRecord[] = [];
  private flushScheduled = false;
  private ticking = false;
  private flagsChanged = false;
  private lastServices = '';
  private lastWave = 'null';
  private previous: { at: number; counters: ReleaseCounters[] } | null = null;
  private readonly timer: NodeJS.Timeout;
  private readonly stopListening: (() => void)[];

  constructor(
    private readonly controller: Controller,
    private readonly flags: FlagService,
    /** Every frame goes through it: the stream is an exit like the API's answers. */
    private readonly redactor: SecretRedactor = SecretRedactor.none(),
    private readonly now: () => number = Date.now,
    /** Stale flags (flags/flag-hygiene.ts) by key; absent: no badge. */
    private readonly staleness?: (environment: string) => Map<string, Staleness[]>,
  ) {
    // Listeners run inside EventLog.record, in the middle of a transition: queue, and send after it.
    this.stopListening = [
      controller.events.onRecord((event) => {
        if (this.clients.size === 0) return;
        this.pendingEvents.push(event);
        this.scheduleFlush();
      }),
      flags.subscribe((change) => {
        if (this.clients.size === 0 || change.environment !== flags.environment(undefined)) return;
        this.flagsChanged = true;
        this.scheduleFlush();
      }),
    ];
    this.timer = setInterval(() => {
      void this.tick();
    }, TICK_MS);
    this.timer.unref();
    void this.tick();
  }

  /** The first message of a stream: read before the stream opens, so a failure is still an HTTP error. */
  hello(): string {
    return this.redactor.redactText(
      message('hello', {
        router: routerInUse(this.controller.config.server),
        services: this.services(),
        flags: this.flagList(),
        metrics: this.history,
        deploy: this.controller.waves.current(),
      }),
    );
  }

  open(response: ServerResponse, alive: () => boolean, hello: string): void {
    openEventStream(response, RETRY_MS);
    const client: StreamClient = { response, alive };
    this.clients.add(client);
    response.write(hello);
    const forget = (): void => {
      this.clients.delete(client);
    };
    response.on('close', forget);
    response.on('error', forget);
  }

  count(): number {
    return this.clients.size;
  }

  /** Ends every stream and stops the ticker (server shutdown). */
  close(): void {
    clearInterval(this.timer);
    for (const stop of this.stopListening) stop();
    for (const client of this.clients) client.response.end();
    this.clients.clear();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.safely(() => {
        this.flush();
      });
    });
  }

  /**
   * The hub runs on timers, outside any request: an exception there would
   * take the whole server (and its deploys) down. A failed tick is skipped;
   * the next one tries again.
   */
  private safely(work: () => void): void {
    try {
      work();
    } catch {
      // Nothing to report to: the admin API logs nothing, and the page shows the last good state.
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const events = this.pendingEvents;
    this.pendingEvents = [];
    for (const event of events) this.broadcast(message('event', event));
    if (this.flagsChanged) {
      this.flagsChanged = false;
      this.broadcast(message('flags', this.flagList()));
    }
    if (events.length > 0) this.pushServicesIfChanged(true);
  }

  /**
   * One metrics point: the counters read now, minus the reading before. A
   * router in another process (the proxy process) answers counters() with
   * its last periodic reading, up to a tick old; asking for a fresh one first
   * makes a point's `at` the moment its counts were taken, which the page's
   * observed split relies on to leave out the second a weight changed in.
   */
  private async tick(): Promise<void> {
    // A reading slower than a tick: skip this one rather than overlap (the next point spans both seconds).
    if (this.ticking) return;
    this.ticking = true;
    try {
      const at = this.now();
      await this.freshCounters();
      this.safely(() => {
        this.record(at, this.controller.router.counters());
      });
    } finally {
      this.ticking = false;
    }
  }

  private async freshCounters(): Promise<void> {
    const router = this.controller.router;
    if (!router.refreshCounters) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      router.refreshCounters().catch(() => {}),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, COUNTERS_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private record(at: number, counters: ReleaseCounters[]): void {
    if (this.previous) {
      const point: MetricsPoint = {
        at,
        releases: releaseRates(this.previous.counters, counters, at - this.previous.at),
      };
      this.history.push(point);
      if (this.history.length > HISTORY_POINTS) this.history.shift();
      if (this.clients.size > 0) this.broadcast(message('metrics', point));
    }
    this.previous = { at, counters };
    if (this.clients.size === 0) return;
    for (const client of this.clients) {
      if (!client.alive()) {
        client.response.end();
        this.clients.delete(client);
      }
    }
    // Instance health changes without an event outside a deploy: compare, and send only a change.
    this.pushServicesIfChanged(false);
  }

  private pushServicesIfChanged(always: boolean): void {
    // The multi-service deploy in progress (or null once it ended), sent as `deploy` when it changed.
    const wave = JSON.stringify(this.controller.waves.current());
    if (always || wave !== this.lastWave) {
      this.lastWave = wave;
      this.broadcast(`event: deploy\ndata: ${wave}\n\n`);
    }
    const json = JSON.stringify(this.services());
    if (!always && json === this.lastServices) return;
    this.lastServices = json;
    this.broadcast(`event: services\ndata: ${json}\n\n`);
  }

  private broadcast(text: string): void {
    const redacted = this.redactor.redactText(text);
    for (const client of this.clients) client.response.write(redacted);
  }

  private services(): ServiceStatus[] {
    return this.controller.statusAll();
  }

  /** With each flag's reasons to be stale, for the list's badge (as GET /api/v1/flags answers). */
  private flagList(): { environment: string; revision: number; flags: unknown[] } {
    const list = this.flags.list(this.flags.environment(undefined));
    const stale = this.staleness?.(list.environment);
    return { ...list, flags: list.flags.map((entry) => ({ ...entry, stale: stale?.get(entry.flag.key) ?? [] })) };
  }
}

const message = (name: string, data: unknown): string => eventMessage(name, data);
