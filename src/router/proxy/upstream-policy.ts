import type { PassiveHealthPolicy, UpstreamPoolOptions } from './upstream-pool.js';

/** How the proxy treats one service's instances: its timeouts, its queue bound and its passive health. */
export type UpstreamPolicy = UpstreamPoolOptions;

/** Some fields of a policy; the others come from the proxy's default policy. */
export type UpstreamPolicyOverrides = Partial<Omit<UpstreamPolicy, 'passiveHealth'>> & {
  passiveHealth?: Partial<PassiveHealthPolicy>;
};

/** The defaults of `services.<name>.timeouts`, `instance_limits` and `passive_health` (config-defaults.ts holds the same). */
export const DEFAULT_UPSTREAM_POLICY: UpstreamPolicy = {
  connections: 128,
  pending: 128,
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  passiveHealth: { consecutiveFailures: 5, ejectionMs: 30_000, maxEjectionMs: 300_000 },
};

/**
 * The policy of every service: its own overrides over the proxy's default
 * policy, itself DEFAULT_UPSTREAM_POLICY with the proxy's overrides. Merged
 * once, when the proxy is made; read when a route binds its pools.
 */
export class UpstreamPolicies {
  private readonly fallback: UpstreamPolicy;
  private readonly byService = new Map<string, UpstreamPolicy>();

  constructor(
    defaults: UpstreamPolicyOverrides | undefined,
    services: Readonly<Record<string, UpstreamPolicyOverrides>> | undefined,
  ) {
    this.fallback = mergePolicy(DEFAULT_UPSTREAM_POLICY, defaults);
    for (const [service, policy] of Object.entries(services ?? {}))
      this.byService.set(service, mergePolicy(this.fallback, policy));
  }

  /** The policy of a service, the default one when the service has none of its own. */
  of(service: string): UpstreamPolicy {
    return this.byService.get(service) ?? this.fallback;
  }
}

/** A policy with the fields `partial` sets replaced, passive health merged field by field. */
function mergePolicy(base: UpstreamPolicy, partial: UpstreamPolicyOverrides | undefined): UpstreamPolicy {
  if (partial === undefined) return base;
  return { ...base, ...partial, passiveHealth: { ...base.passiveHealth, ...partial.passiveHealth } };
}
