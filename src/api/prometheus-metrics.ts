import type { Flag } from '../flags/flag-model.js';
import { STALE_REASONS } from '../flags/flag-staleness.js';
import {
  collectDefaultMetrics,
  Counter,
  Gauge,
  Registry,
  type MetricObjectWithValues,
  type MetricValueWithName,
} from 'prom-client';
import type { Controller } from '../controller/controller.js';

/**
 * /metrics in the Prometheus text format. Everything is read at scrape time
 * from the proxy's counters and the store, so the request path pays nothing
 * for it and a restarted controller reports the history it has on disk.
 */
const OPERATION_BUCKETS_S = [1, 2, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * A histogram whose buckets are already counted elsewhere (the proxy's
 * LatencyHistogram): prom-client's Histogram can only observe values one by one.
 */
class PrecountedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read: () => {
      labels: Record<string, string>;
      boundsS: number[];
      counts: number[];
      sum: number;
      count: number;
    }[],
  ) {}

  collect(): void {}

  get(): Promise<MetricObjectWithValues<MetricValueWithName<string>>> {
    const values: MetricValueWithName<string>[] = [];
    for (const series of this.read()) {
      let cumulative = 0;
      series.boundsS.forEach((bound, i) => {
        cumulative += series.counts[i] ?? 0;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...series.labels, le: '+Inf' }, value: series.count });
      values.push({ metricName: `${this.name}_sum`, labels: series.labels, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: series.labels, value: series.count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: 'histogram' as never,
      aggregator: 'sum',
      collect: () => {},
      values,
    });
  }
}

/** What /metrics reads of the flag server. */
export interface FlagMetricsSource {
  environments: readonly string[];
  list(environment: string): { flags: { flag: Flag }[] };
  allEvaluations(): { environment: string; key: string; variant: string | null; count: number }[];
  droppedEvaluations(): { environment: string; reason: string; count: number }[];
  openStreams(): number;
  /** Each flag's reasons to be stale, by key (an empty list: not stale). */
  staleness(environment: string): Map<string, { reason: string }[]>;
}

/** The event types the analysis runner records when a run ends (controller/analysis-runner.ts). */
const ANALYSIS_VERDICTS = ['analysis.successful', 'analysis.failed', 'analysis.inconclusive'];

/** What /metrics reads of the certificates HTTPS is served with. */
export interface CertificateMetricsSource {
  list(): { host: string; service: string; source: 'acme' | 'files'; notAfter: number | null }[];
}

export function buildMetricsRegistry(
  controller: Controller,
  flags?: FlagMetricsSource,
  certificates?: CertificateMetricsSource,
): Registry {
  const registry = new Registry();
  if (certificates !== undefined)
    new Gauge({
      name: 'cutover_certificate_expiry_timestamp_seconds',
      help: 'When the certificate served for each HTTPS host expires (Unix seconds); a host still without one is absent.',
      labelNames: ['service', 'host', 'source'],
      registers: [registry],
      collect() {
        this.reset();
        for (const line of certificates.list())
          if (line.notAfter !== null)
            this.set({ service: line.service, host: line.host, source: line.source }, Math.floor(line.notAfter / 1000));
      },
    });
  collectDefaultMetrics({ register: registry, prefix: 'cutover_process_' });
  const releaseVersion = (id: string): string => controller.store.getRelease(id)?.version ?? '';

  new Counter({
    name: 'cutover_proxy_requests_total',
    help: 'Requests routed by the proxy, per service and release.',
    labelNames: ['service', 'release', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of controller.router.counters())
        this.inc({ service: c.service, release: c.releaseId, version: releaseVersion(c.releaseId) }, c.requests);
    },
  });
  new Counter({
    name: 'cutover_proxy_responses_total',
    help: 'Responses per status class; class="error" counts answers the proxy made itself (502/503).',
    labelNames: ['service', 'release', 'version', 'class'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of controller.router.counters()) {
        for (const [klass, value] of Object.entries(c.status))
          this.inc(
            { service: c.service, release: c.releaseId, version: releaseVersion(c.releaseId), class: klass },
            value,
          );
      }
    },
  });
  new Gauge({
    name: 'cutover_proxy_in_flight',
    help: 'Requests and upgraded connections in flight per release.',
    labelNames: ['service', 'release', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of controller.router.counters()) {
        this.set({ service: c.service, release: c.releaseId, kind: 'request' }, c.inFlight);
        this.set({ service: c.service, release: c.releaseId, kind: 'upgrade' }, c.openUpgrades);
      }
    },
  });
  registry.registerMetric(
    new PrecountedHistogram(
      'cutover_proxy_request_duration_seconds',
      'Time from request arrival to the last byte of the upstream response.',
      () =>
        controller.router.counters().map((c) => ({
          labels: { service: c.service, release: c.releaseId, version: releaseVersion(c.releaseId) },
          boundsS: c.latency.bucketsMs.map((ms) => ms / 1000),
          counts: c.latency.counts,
          sum: c.latency.sumMs / 1000,
          count: c.latency.count,
        })),
    ) as never,
  );

  new Gauge({
    name: 'cutover_release_active',
    help: '1 for the release serving each service (0 for the standby).',
    labelNames: ['service', 'release', 'version', 'slot'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of controller.statusAll()) {
        if (s.active)
          this.set(
            { service: s.service, release: s.active.releaseId, version: s.active.version, slot: s.active.slot },
            1,
          );
        if (s.standby)
          this.set(
            { service: s.service, release: s.standby.releaseId, version: s.standby.version, slot: s.standby.slot },
            0,
          );
      }
    },
  });
  new Gauge({
    name: 'cutover_instance_healthy',
    help: '1 when an instance passes its health checks.',
    labelNames: ['service', 'release', 'instance'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of controller.statusAll()) {
        for (const slot of [s.active, s.standby]) {
          for (const i of slot?.instances ?? [])
            this.set({ service: s.service, release: slot!.releaseId, instance: i.id }, i.health === 'healthy' ? 1 : 0);
        }
      }
    },
  });
  new Counter({
    name: 'cutover_operations_total',
    help: 'Finished deploys, switches, rollbacks and cleanups by outcome.',
    labelNames: ['service', 'kind', 'strategy', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const op of controller.store.finishedOperationStats())
        this.inc({ service: op.service, kind: op.kind, strategy: op.strategy, outcome: op.outcome });
    },
  });
  new Counter({
    name: 'cutover_analysis_runs_total',
    help: 'Analysis runs (one per metric and step) by verdict: successful, failed, inconclusive.',
    labelNames: ['service', 'verdict'],
    registers: [registry],
    collect() {
      this.reset();
      for (const row of controller.store.countEventsByType(ANALYSIS_VERDICTS))
        this.inc({ service: row.service, verdict: row.type.slice('analysis.'.length) }, row.count);
    },
  });
  new Gauge({
    name: 'cutover_canary_weight',
    help: 'Percent of traffic on the canary of a service while a canary runs.',
    labelNames: ['service', 'release', 'version'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of controller.statusAll()) {
        if (s.canary)
          this.set({ service: s.service, release: s.canary.releaseId, version: s.canary.version }, s.canary.weight);
      }
    },
  });
  registry.registerMetric(
    new PrecountedHistogram(
      'cutover_operation_duration_seconds',
      'Duration of finished operations by kind and outcome.',
      () => {
        const series = new Map<
          string,
          { labels: Record<string, string>; boundsS: number[]; counts: number[]; sum: number; count: number }
        >();
        for (const op of controller.store.finishedOperationStats()) {
          const key = `${op.service}\0${op.kind}\0${op.strategy}\0${op.outcome}`;
          let s = series.get(key);
          if (!s) {
            s = {
              labels: { service: op.service, kind: op.kind, strategy: op.strategy, outcome: op.outcome },
              boundsS: OPERATION_BUCKETS_S,
              counts: OPERATION_BUCKETS_S.map(() => 0),
              sum: 0,
              count: 0,
            };
            series.set(key, s);
          }
          const seconds = op.durationMs / 1000;
          const bucket = OPERATION_BUCKETS_S.findIndex((b) => seconds <= b);
          if (bucket >= 0) s.counts[bucket] = (s.counts[bucket] ?? 0) + 1;
          s.sum += seconds;
          s.count += 1;
        }
        return [...series.values()];
      },
    ) as never,
  );
  if (flags) registerFlagMetrics(registry, flags);
  return registry;
}

function registerFlagMetrics(registry: Registry, flags: FlagMetricsSource): void {
  new Gauge({
    name: 'cutover_flag_stale',
    help: 'Whether a flag is stale for a reason: 1 when it served one value to everyone (single_value) or was not evaluated (not_evaluated) for flags.stale_after, else 0.',
    labelNames: ['environment', 'flag', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const environment of flags.environments)
        for (const [flag, stale] of flags.staleness(environment))
          for (const reason of STALE_REASONS)
            this.set({ environment, flag, reason }, stale.some((entry) => entry.reason === reason) ? 1 : 0);
    },
  });
  new Counter({
    name: 'cutover_flag_evaluations_total',
    help: 'Flag evaluations the SDKs reported and OFREP answered, per environment, flag and variant ("" for errors).',
    labelNames: ['environment', 'flag', 'variant'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of flags.allEvaluations())
        this.inc({ environment: e.environment, flag: e.key, variant: e.variant ?? '' }, e.count);
    },
  });
  new Counter({
    name: 'cutover_flag_evaluations_dropped_total',
    help: 'Evaluation counts the SDKs reported that were dropped: for a flag or variant that does not exist, or over the cap of series.',
    labelNames: ['environment', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const e of flags.droppedEvaluations()) this.inc({ environment: e.environment, reason: e.reason }, e.count);
    },
  });
  new Gauge({
    name: 'cutover_flag_rollout_percentage',
    help: 'The top-level rollout percentage of each flag (0 when it has none or is disabled).',
    labelNames: ['environment', 'flag'],
    registers: [registry],
    collect() {
      this.reset();
      for (const environment of flags.environments) {
        for (const { flag } of flags.list(environment).flags)
          this.set({ environment, flag: flag.key }, flag.enabled ? (flag.rollout?.percentage ?? 0) : 0);
      }
    },
  });
  new Gauge({
    name: 'cutover_flag_sdk_streams',
    help: 'SDK clients connected to the flag stream.',
    registers: [registry],
    collect() {
      this.set(flags.openStreams());
    },
  });
}
