import type { Logger } from 'pino';
import type { Cidr } from '../../config/cidr.js';
import type { InstanceEjectionEvent } from './passive-health.js';
import type { UpstreamPolicyOverrides } from './upstream-policy.js';

/** How a `ProxyRouter` listens and treats its clients and upstreams. */
export interface ProxyListenOptions {
  host: string;
  /** 0 picks a free port; read the bound one from `address`. */
  port: number;
  /** The TLS listener (`server.https`): hosts whose route has a certificate are served there by SNI. */
  https?: { host: string; port: number };
  /** With `https`: plain requests for a host that has a certificate get 308 to HTTPS (ACME challenges excepted). */
  redirectHttp?: boolean;
  logger?: Logger;
  /** The policy of services not listed in `services` (default: DEFAULT_UPSTREAM_POLICY). */
  upstreamPolicy?: UpstreamPolicyOverrides;
  /** Per service (`services.<name>.timeouts`, `instance_limits`, `passive_health`); missing fields come from `upstreamPolicy`. */
  services?: Readonly<Record<string, UpstreamPolicyOverrides>>;
  /** Peers whose X-Forwarded-* / X-Real-IP / Forwarded are believed (`server.trusted_proxies`; default: nobody). */
  trustedProxies?: readonly Cidr[];
  /** Most client connections open at once; one more is closed as soon as it is accepted (default 10,000). */
  maxConnections?: number;
  /** Time a client has to send a whole request head (default 10 s): what ends a slowloris. */
  clientHeadersTimeoutMs?: number;
  /** Time a client has to send a whole request, head and body (default 5 min: uploads; 0 = no limit). */
  clientRequestTimeoutMs?: number;
  /** How long an idle client keep-alive connection stays open (default 65 s, longer than usual load balancer idle timeouts). */
  clientKeepAliveTimeoutMs?: number;
  /** Passive health took an instance out of rotation or put it back (the controller records it as an event). */
  onInstanceEjection?: (event: InstanceEjectionEvent) => void;
}
