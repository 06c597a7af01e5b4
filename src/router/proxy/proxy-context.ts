import type { Logger } from 'pino';
import type { TargetEntry } from '../route-table.js';
import type { PassiveHealth } from './passive-health.js';
import type { TargetBinding } from './release-traffic.js';

/** What every exchange and tunnel of one proxy shares: made once per proxy, so a request carries one reference. */
export interface ProxyContext {
  /** Instances out of rotation: marked unhealthy by the controller, or ejected by passive health. */
  readonly outOfRotation: ReadonlySet<string>;
  readonly passiveHealth: PassiveHealth;
  readonly logger: Logger | undefined;
  /** The service's stable target in the current route, or null: where a request its own release dropped goes. */
  stableTarget(service: string): TargetEntry<TargetBinding> | null;
}
