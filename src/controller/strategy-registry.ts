import type { ServiceConfig } from '../config/types.js';
import type { ReleaseRecord } from '../store/records.js';
import type { StrategyRunner } from './strategy-runner.js';

export interface StrategyRunners {
  blueGreen: StrategyRunner;
  canary: StrategyRunner;
  /** rolling and recreate. */
  rolling: StrategyRunner;
  /** `strategy: rolling` on a runtime that updates its instances itself (Swarm); null when none does. */
  nativeRolling: (StrategyRunner & { offers(service: ServiceConfig): boolean }) | null;
}

/**
 * Which runner drives each service, decided once from its strategy type (and
 * its runtime's capabilities). The blue-green runner is also every service's
 * way to (re)start a whole release: the first release of a rolling or
 * recreate service, and a rollback to a release that no longer runs; so a
 * command for a service whose own runner has nothing in flight goes to it.
 */
export class StrategyRegistry {
  private readonly byService = new Map<string, StrategyRunner>();

  constructor(private readonly runners: StrategyRunners) {}

  /** The runner of the service's strategy. */
  of(service: ServiceConfig): StrategyRunner {
    let runner = this.byService.get(service.name);
    if (!runner) {
      runner = this.pick(service);
      this.byService.set(service.name, runner);
    }
    return runner;
  }

  /** The runner that starts a deploy: nothing runs yet for a rolling or recreate service, so its first release starts whole. */
  forDeploy(service: ServiceConfig, active: ReleaseRecord | null): StrategyRunner {
    const rollingKind = service.strategy.type === 'rolling' || service.strategy.type === 'recreate';
    return rollingKind && !active ? this.runners.blueGreen : this.of(service);
  }

  /** The runner a command for the service goes to: its own while it has a deploy in flight, else the blue-green one. */
  inFlight(service: ServiceConfig): StrategyRunner {
    const own = this.of(service);
    return own.isRunning(service.name) ? own : this.runners.blueGreen;
  }

  /** Every runner once, in the order they are asked to re-route and to close (blue-green last). */
  all(): StrategyRunner[] {
    const { blueGreen, canary, rolling, nativeRolling } = this.runners;
    return [canary, rolling, ...(nativeRolling ? [nativeRolling] : []), blueGreen];
  }

  private pick(service: ServiceConfig): StrategyRunner {
    switch (service.strategy.type) {
      case 'blue-green':
        return this.runners.blueGreen;
      case 'canary':
        return this.runners.canary;
      case 'rolling':
        return this.runners.nativeRolling?.offers(service) ? this.runners.nativeRolling : this.runners.rolling;
      case 'recreate':
        return this.runners.rolling;
    }
  }
}
