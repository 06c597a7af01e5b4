import type { ServiceStatus } from './wire-types.js';

/**
 * The order of the service cards: services with an operation running come
 * first, the rest keep the order of the config (the order the server lists
 * them in). On a phone the cards stack in one column, each a screen or more
 * tall: the service being deployed must not be below the fold.
 * Pure: the page moves the cards to match.
 */
export function serviceOrder(services: readonly Pick<ServiceStatus, 'service' | 'operation'>[]): string[] {
  return services
    .map((s, index) => ({ name: s.service, index, running: s.operation !== null }))
    .sort((a, b) => Number(b.running) - Number(a.running) || a.index - b.index)
    .map((s) => s.name);
}
