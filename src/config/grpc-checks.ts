import { CONFIG_DEFAULTS } from './config-defaults.js';
import { makeIssue, type ConfigIssue, type SourceMap } from './config-issues.js';

/**
 * A gRPC service (`protocol: grpc`) is called over HTTP/2, which the
 * embedded proxy speaks on its TLS listener only (the plain listener is
 * HTTP/1.1): so it needs the proxy as router, `server.https`, and a
 * certificate for its hosts. Refused at load rather than served as HTTP/1.1
 * calls that every gRPC client would fail.
 */

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export function checkGrpcServices(raw: RawMap, source: SourceMap | null): ConfigIssue[] {
  const server = isMap(raw.server) ? raw.server : {};
  const services = isMap(raw.services) ? raw.services : {};
  const router = typeof server.router === 'string' ? server.router : CONFIG_DEFAULTS.router;
  const issues: ConfigIssue[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (!isMap(service) || service.protocol !== 'grpc') continue;
    const at = (message: string): void => {
      issues.push(makeIssue(source, ['services', name, 'protocol'], message));
    };
    if (router !== 'proxy') at(`the ${router} router does not proxy gRPC yet: use the embedded proxy (router: proxy)`);
    else if (server.https === undefined)
      at('gRPC is served over HTTP/2 on the HTTPS listener: set server.https (e.g. 127.0.0.1:8443)');
    else if (service.tls === undefined)
      at('gRPC is served over HTTP/2 on the HTTPS listener: give the service tls (acme, or { cert, key })');
  }
  return issues;
}
