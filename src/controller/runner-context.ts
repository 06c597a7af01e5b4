import type { Logger } from 'pino';
import type { SyntheticLoadStarter } from '../analysis/synthetic-load.js';
import type { CutoverConfig, ServiceConfig } from '../config/types.js';
import type { Clock } from '../core/clock.js';
import type { ServiceMigrations } from '../migrate/service-migrations.js';
import type { Router } from '../router/index.js';
import type { Store } from '../store/store.js';
import type { ProviderFor } from './analysis-runner.js';
import type { EventLog } from './event-log.js';
import type { InstanceSupervisor } from './instance-supervisor.js';
import type { ReleaseLifecycle } from './release-lifecycle.js';

/**
 * What a strategy runner, recovery and the deploy waves may use: the ports
 * (store, router through the supervisor and the lifecycle), the event log,
 * the clock, and the config. Deliberately not the Controller: a runner that
 * needs something new says so here, in one visible place.
 */
export interface RunnerContext {
  readonly config: CutoverConfig;
  readonly store: Store;
  readonly router: Router;
  readonly supervisor: InstanceSupervisor;
  readonly events: EventLog;
  readonly lifecycle: ReleaseLifecycle;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Builds the metric providers of analysis runs. */
  readonly providerFor: ProviderFor;
  /** Starts the synthetic `load:` of analysis templates on a release's instances. */
  readonly syntheticLoad: SyntheticLoadStarter;
  /** A configured service, or SERVICE_NOT_FOUND. */
  service(name: string): ServiceConfig;
  /** The services' databases, once attached (null before, or without database support). */
  migrations(): ServiceMigrations | null;
}
