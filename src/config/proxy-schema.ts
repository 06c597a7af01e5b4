import { z } from 'zod';
import { parseCidr } from './cidr.js';
import { listOf, nonNegativeDuration, parsedBy, positiveDuration, strictMap, wholeNumber } from './schema-fields.js';

/**
 * The embedded proxy's own keys: who is believed about the client
 * (`server.trusted_proxies`), how many client connections and how slow a
 * client may be (`server.max_connections`, `server.client_timeouts`), and
 * per service how long an instance may take and how much may wait on it
 * (`timeouts`, `instance_limits`, `passive_health`).
 */

/** More processes than this on one socket only add memory and accept contention (and `auto` never asks more). */
export const MAX_PROXY_WORKERS = 16;

const cidr = parsedBy((value) => {
  const result = parseCidr(value);
  return result.ok ? { ok: true, value: result.cidr } : result;
});

export const proxyServerFields = {
  trusted_proxies: z
    .preprocess(listOf, z.array(cidr, { error: 'expected a list of CIDR blocks, like [10.0.0.0/8, "fd00::/8"]' }))
    .optional(),
  max_connections: wholeNumber(1).optional(),
  proxy_workers: parsedBy<'auto' | number>((value) =>
    value === 'auto' || (Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_PROXY_WORKERS)
      ? { ok: true, value: value as 'auto' | number }
      : {
          ok: false,
          expected: `expected auto (one per core, at most 8) or a whole number from 1 to ${MAX_PROXY_WORKERS}`,
        },
  ).optional(),
  client_timeouts: strictMap(
    {
      headers: positiveDuration.optional(),
      request: nonNegativeDuration.optional(),
      keep_alive: positiveDuration.optional(),
    },
    'expected a map like { headers: 10s, request: 5m, keep_alive: 65s }',
  )
    .refine((t) => t.request === undefined || t.request === 0 || t.headers === undefined || t.headers <= t.request, {
      error: 'expected headers to be at most request (the head is part of the request)',
    })
    .optional(),
};

export const proxyServiceFields = {
  timeouts: strictMap(
    {
      connect: positiveDuration.optional(),
      response_headers: positiveDuration.optional(),
      idle: nonNegativeDuration.optional(),
    },
    'expected a map like { connect: 5s, response_headers: 60s, idle: 60s }',
  ).optional(),
  instance_limits: strictMap(
    {
      connections: wholeNumber(1).optional(),
      pending: wholeNumber(0).optional(),
    },
    'expected a map like { connections: 128, pending: 128 }',
  ).optional(),
  passive_health: strictMap(
    {
      consecutive_failures: wholeNumber(0).optional(),
      ejection_time: positiveDuration.optional(),
      max_ejection_time: positiveDuration.optional(),
    },
    'expected a map like { consecutive_failures: 5, ejection_time: 30s, max_ejection_time: 5m }',
  )
    .refine(
      (p) =>
        p.ejection_time === undefined || p.max_ejection_time === undefined || p.ejection_time <= p.max_ejection_time,
      {
        error: 'expected max_ejection_time to be at least ejection_time',
      },
    )
    .optional(),
};
