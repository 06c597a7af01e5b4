import type { Logger } from 'pino';
import type { CutoverConfig } from '../config/types.js';
import type { SecretRedactor } from '../config/secret-redactor.js';
import type { Clock } from '../core/clock.js';
import type { Router, TlsRoute } from '../router/index.js';
import type { Runtime } from '../runtime/index.js';
import type { Store } from '../store/store.js';
import type { ProviderFor } from './analysis-runner.js';
import type { GitInfo } from './git-info.js';
import type { HealthProbe } from './instance-supervisor.js';

/** What a Controller is built from: the ports, and the defaults a test may replace. */
export interface ControllerDeps {
  config: CutoverConfig;
  store: Store;
  runtime: Runtime;
  router: Router;
  logger: Logger;
  /** Every timer, sleep and "now" of the controller, its runners and health checks (default: the system clock). */
  clock?: Clock;
  /** Judges an instance's health (default: the configured HTTP/TCP/command check against its host and port). */
  probe?: HealthProbe;
  /** The git commit and branch a release records (default: read from the service's directory). */
  gitInfo?: (cwd: string) => Promise<GitInfo>;
  /** Builds metric providers for analysis runs (default: from config, reading this router's counters). */
  providerFor?: ProviderFor;
  /** Takes secret values out of release snapshots and events (default: the secrets of `config`). */
  redactor?: SecretRedactor;
  /** Deletes a pruned release's instance logs (the runtime's files; absent in tests without any). */
  removeReleaseLogs?: (service: string, releaseId: string) => void;
  /** The certificate each HTTPS service's hosts are served with (default: none); `replaceCertificates` swaps them. */
  certificates?: ReadonlyMap<string, TlsRoute>;
}
