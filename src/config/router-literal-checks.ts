import type { ConfigPath, ConfigIssue, SourceMap } from './config-issues.js';
import { makeIssue } from './config-issues.js';
import {
  HAPROXY_COOKIE_NAME,
  HAPROXY_HEADER_NAME,
  HAPROXY_MATCH_VALUE,
  NGINX_COOKIE_NAME,
  NGINX_HEADER_NAME,
} from './router-literals.js';

/**
 * A canary's stickiness and match rules as the chosen router can render
 * them. The config's grammar takes any HTTP token as a header or cookie
 * name and any text as a match value; nginx and HAProxy take less
 * (router-literals.ts), and refused it only when the canary first routed,
 * failing that deploy with the router's words and no field to fix. Raw
 * values are read defensively (the schema reports bad types).
 */

type RawMap = Record<string, unknown>;

function isMap(value: unknown): value is RawMap {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const GRAMMARS = {
  nginx: { header: NGINX_HEADER_NAME, cookie: NGINX_COOKIE_NAME, value: null },
  haproxy: { header: HAPROXY_HEADER_NAME, cookie: HAPROXY_COOKIE_NAME, value: HAPROXY_MATCH_VALUE },
} as const;

const NAME_EXPECTED = {
  header: 'a header name of letters, digits, - and _',
  cookie: 'a cookie name of letters, digits, ., - and _',
} as const;

/** Every canary strategy of the config, against `server.router`'s grammar. */
export function checkRouterLiterals(raw: RawMap, source: SourceMap | null): ConfigIssue[] {
  const server = isMap(raw.server) ? raw.server : {};
  const services = isMap(raw.services) ? raw.services : {};
  const router = typeof server.router === 'string' ? server.router : '';
  const issues: ConfigIssue[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (!isMap(service) || !isMap(service.strategy) || service.strategy.type !== 'canary') continue;
    issues.push(...checkCanaryLiterals(service.strategy, ['services', name, 'strategy'], router, source));
  }
  return issues;
}

function checkCanaryLiterals(
  strategy: RawMap,
  path: ConfigPath,
  router: string,
  source: SourceMap | null,
): ConfigIssue[] {
  if (router !== 'nginx' && router !== 'haproxy') return [];
  const grammar = GRAMMARS[router];
  const issues: ConfigIssue[] = [];
  const name = (kind: 'header' | 'cookie', value: unknown, at: ConfigPath): void => {
    if (typeof value !== 'string' || grammar[kind].test(value)) return;
    const limit = router === 'haproxy' ? ', at most 64 characters' : '';
    issues.push(makeIssue(source, at, `the ${router} router routes on ${NAME_EXPECTED[kind]}${limit}`));
  };
  const stickiness = strategy.stickiness;
  if (isMap(stickiness) && (stickiness.by === 'header' || stickiness.by === 'cookie'))
    name(stickiness.by, stickiness.name, [...path, 'stickiness', 'name']);
  if (Array.isArray(strategy.match))
    strategy.match.forEach((rule: unknown, index) => {
      if (!isMap(rule)) return;
      const at: ConfigPath = [...path, 'match', index];
      name('header', rule.header, [...at, 'header']);
      name('cookie', rule.cookie, [...at, 'cookie']);
      const value = typeof rule.value === 'number' ? String(rule.value) : rule.value;
      if (grammar.value !== null && typeof value === 'string' && !grammar.value.test(value))
        issues.push(
          makeIssue(
            source,
            [...at, 'value'],
            'the haproxy router matches a value without spaces, quotes, `,`, `;`, `\\`, `#`, `%` or `$` (at most 256 characters)',
          ),
        );
    });
  return issues;
}
