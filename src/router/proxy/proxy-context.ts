import type { Logger } from 'pino';
import type { PassiveHealth } from './passive-health.js';

/** What every exchange and tunnel of one proxy shares: made once per proxy, so a request carries one reference. */
export interface ProxyContext {
  /** Instances out of rotation: marked unhealthy by the controller, or ejected by passive health. */
  readonly outOfRotation: ReadonlySet<string>;
  readonly passiveHealth: PassiveHealth;
  readonly logger: Logger | undefined;
}
