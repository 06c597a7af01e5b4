import type { CutoverConfig, ServiceConfig } from '../config/types.js';
import { CutoverError } from '../core/errors.js';

/** A configured service by name; SERVICE_NOT_FOUND names the ones there are. */
export function serviceNamed(config: CutoverConfig, name: string): ServiceConfig {
  const service = config.services[name];
  if (!service) {
    throw new CutoverError('SERVICE_NOT_FOUND', `no service named '${name}' in ${config.file ?? 'the config'}`, {
      hint: `Configured services: ${Object.keys(config.services).join(', ') || 'none'}.`,
    });
  }
  return service;
}
