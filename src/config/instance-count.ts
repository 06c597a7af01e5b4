import { CONFIG_DEFAULTS } from './config-defaults.js';

/**
 * A part of a service's instances (a rolling batch, the canary's instances)
 * that asks for more than the service runs: the service's count, and how to
 * name it in the message (`instances: 3`, or `instances: 1, the default`).
 * Null when the part fits, or when either number is not one to judge (the
 * schema reports those).
 */
export function moreThanTheService(part: unknown, instances: unknown): { count: number; service: string } | null {
  const count = instances === undefined ? CONFIG_DEFAULTS.instances : instances;
  if (typeof part !== 'number' || typeof count !== 'number' || !Number.isInteger(count) || count < 1) return null;
  if (!Number.isInteger(part) || part <= count) return null;
  return { count, service: instances === undefined ? `instances: ${count}, the default` : `instances: ${count}` };
}
