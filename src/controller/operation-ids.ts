import { randomBytes } from 'node:crypto';

/** Sortable, short, unique enough for one state directory: time in base36 plus 4 random bytes. */
export function newOperationId(now: number): string {
  return `op-${now.toString(36)}-${randomBytes(4).toString('hex')}`;
}
