/**
 * How often one flag answered each variant since the last report. The SDK
 * counts every evaluation, so the count is a slot in an array found once per
 * variant name: the hot path does one Map lookup and one increment, and never
 * allocates. Slot 0 counts the evaluations that failed (variant null on the wire).
 */
export class VariantTally {
  readonly flag: string;
  /** The variant of each slot; null for failed evaluations. */
  readonly variants: (string | null)[] = [null];
  readonly counts: number[] = [0];
  private readonly slots = new Map<string, number>();

  constructor(flag: string) {
    this.flag = flag;
  }

  /** The slot of a variant, created on first use (a changed flag may bring new variants). */
  slotOf(variant: string): number {
    let slot = this.slots.get(variant);
    if (slot === undefined) {
      slot = this.variants.length;
      this.variants.push(variant);
      this.counts.push(0);
      this.slots.set(variant, slot);
    }
    return slot;
  }

  countVariant(variant: string): void {
    this.counts[this.slotOf(variant)]! += 1;
  }

  countFailure(): void {
    this.counts[0]! += 1;
  }

  isEmpty(): boolean {
    for (const count of this.counts) if (count !== 0) return false;
    return true;
  }
}
