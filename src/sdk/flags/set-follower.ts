import type { EventSourceMessage } from 'eventsource-parser';
import { CutoverError } from '../../core/errors.js';
import { FlagSet, type FlagSnapshot, type TallyFor } from './flag-set.js';
import { readStreamEvent, type DeltaEvent } from './stream-events.js';

/**
 * Keeps a FlagSet current from the stream's events. A `snapshot` replaces the
 * set; a `flag` or `segments` event applies when its revision is the next
 * one. A gap (a revision further ahead) means an event was missed: the
 * follower fetches the whole set again (GET /api/v1/sdk/flags) and holds the
 * events that arrive meanwhile, applying those newer than the fetched set
 * afterwards, so nothing is applied out of order or twice.
 */

export interface SetFollowerHooks {
  /** The set in use. */
  current(): FlagSet;
  /** Whether the set in use came from this server connection's history (not only from the disk cache). */
  hasServerSet(): boolean;
  /** A new set: `keys` are the flags whose answers may have changed. */
  install(next: FlagSet, keys: string[], snapshot: FlagSnapshot | null): void;
  fetchSnapshot(): Promise<FlagSnapshot>;
  /** Fall back to a fresh stream connection (its first event is a snapshot). */
  reconnect(): void;
  error(error: CutoverError): void;
  tallyFor: TallyFor;
}

export class SetFollower {
  private readonly hooks: SetFollowerHooks;
  private resync: Promise<void> | null = null;
  private held: DeltaEvent[] = [];

  constructor(hooks: SetFollowerHooks) {
    this.hooks = hooks;
  }

  /** Resolves when no snapshot fetch is running (close() waits for it). */
  async idle(): Promise<void> {
    while (this.resync !== null) await this.resync;
  }

  onMessage(message: EventSourceMessage): void {
    let event;
    try {
      event = readStreamEvent(message);
    } catch (error) {
      this.hooks.error(error as CutoverError);
      this.startResync();
      return;
    }
    if (event === null) return;
    if (event.type === 'snapshot') {
      this.held = this.held.filter((held) => held.revision > event.snapshot.revision);
      this.applySnapshot(event.snapshot);
    } else {
      this.applyDelta(event);
    }
  }

  /** `fetched`: from GET, not from the stream. A stream snapshot always wins (a server whose state was reset counts again from 0). */
  private applySnapshot(snapshot: FlagSnapshot, fetched = false): void {
    const previous = this.hooks.current();
    // A fetched set older than the one in use (the stream reconnected meanwhile) would step back in time.
    if (fetched && this.hooks.hasServerSet() && snapshot.revision < previous.revision) return;
    const next = FlagSet.fromSnapshot(snapshot, this.hooks.tallyFor);
    this.hooks.install(next, previous.changedKeys(next), snapshot);
  }

  private applyDelta(event: DeltaEvent): void {
    if (this.resync !== null || !this.hooks.hasServerSet()) {
      this.held.push(event);
      if (this.resync === null) this.startResync();
      return;
    }
    const set = this.hooks.current();
    if (event.revision <= set.revision) return; // already in the set (a snapshot fetched after it was sent)
    if (event.revision !== set.revision + 1) {
      this.held.push(event);
      this.startResync();
      return;
    }
    if (event.type === 'flag') {
      this.hooks.install(set.withFlag(event.revision, event.key, event.flag, this.hooks.tallyFor), [event.key], null);
    } else {
      const next = set.withSegments(event.revision, event.segments);
      this.hooks.install(next, set.changedKeys(next), null);
    }
  }

  private startResync(): void {
    if (this.resync !== null) return;
    this.resync = this.refetch().finally(() => {
      this.resync = null;
      const held = this.held.sort((a, b) => a.revision - b.revision);
      this.held = [];
      for (const event of held) this.applyDelta(event);
    });
  }

  private async refetch(): Promise<void> {
    try {
      this.applySnapshot(await this.hooks.fetchSnapshot(), true);
    } catch (error) {
      this.hooks.error(error instanceof CutoverError ? error : new CutoverError('INTERNAL', String(error)));
      // The stream's own first event is a snapshot: reconnecting is the fallback that always converges.
      this.held = [];
      this.hooks.reconnect();
    }
  }
}
