import type { Dispatcher } from 'undici';
import type { MetricProviderConfig } from '../config/types.js';
import type { JudgeOptions } from '../core/analysis/baseline-judge.js';
import type { ReleaseCounters, Router } from '../router/index.js';
import { BuiltinProvider } from './builtin-provider.js';
import { CommandProvider } from './command-provider.js';
import type { MetricProvider } from './index.js';
import { PrometheusProvider } from './prometheus-provider.js';
import { WebProvider } from './web-provider.js';

/**
 * Config → provider. Create one provider per metric of a template and keep it
 * for as long as the metric's runs last: the builtin provider keeps the
 * counter snapshot each window began with.
 */
export interface ProviderDeps {
  /** The router's per-release counters (`router.counters`), for builtin metrics. */
  counters: () => ReleaseCounters[];
  /** Takes a reading of the counters now, for a router that answers periodic readings (`router.refreshCounters`). */
  refreshCounters?: () => Promise<void>;
  /** Options of the builtin baseline judge. */
  judgeOptions?: Partial<JudgeOptions>;
  /** The undici dispatcher for prometheus and web metrics; undici's global one when absent. */
  dispatcher?: Dispatcher;
}

/** What the builtin provider reads from a router. */
export function countersOf(router: Router): Pick<ProviderDeps, 'counters' | 'refreshCounters'> {
  return {
    counters: () => router.counters(),
    ...(router.refreshCounters === undefined ? {} : { refreshCounters: () => router.refreshCounters!() }),
  };
}

export function createProvider(config: MetricProviderConfig, deps: ProviderDeps): MetricProvider {
  switch (config.type) {
    case 'builtin':
      return new BuiltinProvider(config.metric, {
        counters: deps.counters,
        refreshCounters: deps.refreshCounters,
        judgeOptions: deps.judgeOptions,
      });
    case 'prometheus':
      return new PrometheusProvider(config, deps.dispatcher);
    case 'web':
      return new WebProvider(config, deps.dispatcher);
    case 'command':
      return new CommandProvider(config);
  }
}
