import net from 'node:net';
import { z } from 'zod';
import { listOf, parsedBy, strictMap, stringish, text, wholeNumber } from './schema-fields.js';

/**
 * The keys of a service with `runtime: docker`: the image template its
 * containers are created from and how they run. Spread into the service
 * schema; checks across fields (image required, docker-only keys on a process
 * service, container_port only with bridge networking) are in docker-checks.ts.
 */

const MEMORY_EXPECTED = 'expected a memory size like 256m, 1g or a number of bytes';
const MEMORY_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Docker's memory notation (`512m`, `1g`, `1.5g`, bytes) in bytes. */
export function parseMemorySize(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : null;
  if (typeof value !== 'string') return null;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmg]?)i?b?$/i.exec(value.trim());
  if (!match) return null;
  const bytes = Math.round(Number(match[1]) * (MEMORY_UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
  return bytes > 0 ? bytes : null;
}

const memory = parsedBy((value) => {
  const bytes = parseMemorySize(value);
  return bytes === null ? { ok: false, expected: MEMORY_EXPECTED } : { ok: true, value: bytes };
});

const CPUS_EXPECTED = 'expected a number of CPUs greater than 0, like 0.5 or 2';
const cpus = z.number({ error: CPUS_EXPECTED }).positive({ error: CPUS_EXPECTED });

/** Docker label keys: reverse-DNS style, no spaces. The `cutover.` prefix is cutover's own. */
const LABEL_KEY_EXPECTED = 'expected a label name of letters, digits, ".", "-" and "_" (not starting with cutover.)';
const labelKey = z
  .string({ error: LABEL_KEY_EXPECTED })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: LABEL_KEY_EXPECTED })
  .refine((key) => !key.startsWith('cutover.'), { error: LABEL_KEY_EXPECTED });

export const dockerServiceFields = {
  image: text('expected an image reference like registry/app:${VERSION}').optional(),
  pull: z.enum(['always', 'if-missing', 'never'], { error: 'expected always, if-missing or never' }).optional(),
  container_port: wholeNumber(1, 65535).optional(),
  network: z.enum(['host', 'bridge'], { error: 'expected host or bridge' }).optional(),
  resources: strictMap(
    { cpus: cpus.optional(), memory: memory.optional() },
    'expected a map like { cpus: 0.5, memory: 256m }',
  ).optional(),
  labels: z
    .record(labelKey, stringish('expected a string'), { error: 'expected a map of labels, like { team: payments }' })
    .optional(),
};

/** The keys above, for the checks that refuse them on a process service. */
export const DOCKER_ONLY_KEYS = Object.keys(dockerServiceFields);

/** Swarm's constraint syntax: an attribute, == or !=, a value (`node.role==manager`, `node.labels.zone != eu-1`). */
const CONSTRAINT_EXPECTED = 'expected a placement constraint like node.role==manager or node.labels.zone!=eu-1';
const constraint = z
  .string({ error: CONSTRAINT_EXPECTED })
  .regex(/^\s*[A-Za-z0-9_.-]+\s*(==|!=)\s*\S.*$/, { error: CONSTRAINT_EXPECTED });

/** The keys only a `runtime: swarm` service has; it takes the docker keys too. */
export const swarmServiceFields = {
  placement: z
    .preprocess(
      listOf,
      z.array(constraint, { error: 'expected a list of placement constraints, like [node.role==manager]' }),
    )
    .optional(),
};

export const SWARM_ONLY_KEYS = Object.keys(swarmServiceFields);

const DOCKER_HOST_EXPECTED =
  'expected the Docker daemon address: unix:///var/run/docker.sock, a socket path, or tcp://127.0.0.1:2375';

/** `server.docker_host`: where the Docker daemon listens, as DOCKER_HOST spells it. */
export const dockerHost = parsedBy((value) => {
  if (typeof value !== 'string') return { ok: false, expected: DOCKER_HOST_EXPECTED };
  const trimmed = value.trim();
  if (
    /^unix:\/\/\/\S+$/.test(trimmed) ||
    /^\/\S+$/.test(trimmed) ||
    /^(tcp|http|https):\/\/[^\s/]+:\d+\/?$/.test(trimmed)
  ) {
    return { ok: true, value: trimmed };
  }
  return { ok: false, expected: DOCKER_HOST_EXPECTED };
});

const NODE_ADDRESS_EXPECTED = 'expected an IP address the tasks of that node listen on, like 10.0.0.12';
const NODE_KEY_EXPECTED = 'expected a swarm node ID or hostname (letters, digits, ".", "-" and "_")';

/**
 * `server.swarm`: how cutover reaches the tasks of a multi-node swarm. The
 * address of a node is its Swarm `Status.Addr` unless `node_addresses` names
 * it (by node ID or hostname): a worker's `Status.Addr` is the address its
 * connection to the manager came from, which is not always the one its tasks
 * can be dialled at (NAT, several interfaces, one machine with several
 * loopback addresses).
 */
export const swarmServerSchema = strictMap(
  {
    node_addresses: z
      .record(
        z.string({ error: NODE_KEY_EXPECTED }).regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: NODE_KEY_EXPECTED }),
        z.string({ error: NODE_ADDRESS_EXPECTED }).refine((value) => net.isIP(value.trim()) !== 0, {
          error: NODE_ADDRESS_EXPECTED,
        }),
        { error: 'expected a map of swarm node ID or hostname to IP address, like { worker-1: 10.0.0.12 }' },
      )
      .optional(),
  },
  'expected a map like { node_addresses: { worker-1: 10.0.0.12 } }',
);
