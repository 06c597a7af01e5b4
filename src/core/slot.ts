/** Blue-green keeps two slots per service; a release runs in one of them. */
export type Slot = 'blue' | 'green';

export const SLOTS: readonly Slot[] = ['blue', 'green'];

export function otherSlot(slot: Slot): Slot {
  return slot === 'blue' ? 'green' : 'blue';
}

export function isSlot(value: unknown): value is Slot {
  return value === 'blue' || value === 'green';
}
