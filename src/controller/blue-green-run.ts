import type { ServiceConfig, BlueGreenStrategyConfig } from '../config/types.js';
import type { BlueGreenCommand, BlueGreenEvent, BlueGreenState } from '../core/blue-green-strategy.js';
import type { ClockTimer } from '../core/clock.js';
import { CutoverError } from '../core/errors.js';
import type { OperationRecord } from '../store/records.js';
import type { AnalysisRunner } from './analysis-runner.js';
import type { MachineDriver } from './machine-driver.js';

/** One blue-green operation in progress, as the runner and its analyses share it. */
export interface RunningOperation {
  operation: OperationRecord;
  service: ServiceConfig;
  readonly state: BlueGreenState;
  abort: AbortController;
  driver: MachineDriver<BlueGreenState, BlueGreenEvent, BlueGreenCommand>;
  /** A rollback re-runs a release that exists already; on failure it goes back to `stopped`. */
  reusedRelease: boolean;
  /** Pre/post-promotion analysis and its window timer. */
  analysis: AnalysisRunner | null;
  windowTimer: ClockTimer | null;
  /** When the post-promotion window open now ends by itself; null outside one. */
  windowEndsAt: number | null;
}

/** The blue-green options of a service. */
export function blueGreenOf(service: ServiceConfig): BlueGreenStrategyConfig {
  if (service.strategy.type !== 'blue-green') {
    throw new CutoverError(
      'INVALID_STATE',
      `service ${service.name} uses the ${service.strategy.type} strategy, not blue-green`,
    );
  }
  return service.strategy;
}
