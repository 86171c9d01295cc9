/**
 * Which offsets of one partition may be committed while records finish out of order.
 *
 * Records are accepted in offset order (gaps allowed: transaction markers and compaction leave holes),
 * finish in any order, and the committable offset is the first offset that is not finished: committing
 * it means "everything before this is durable". A record fetched but not accepted yet (a retry record
 * not due) is `held`: it keeps the commit point from passing it while records behind it go ahead.
 * A record taken on but waiting in memory for room in the partition's window is `queued`: seen (so a
 * re-fetch skips it), not yet started, and the commit point does not pass it either.
 *
 * Invariant: entries are strictly increasing by offset; the commit point never moves backwards.
 */
type State = 'held' | 'queued' | 'accepted' | 'done';

export class OffsetTracker {
  private readonly entries: { offset: number; state: State }[] = [];
  private readonly byOffset = new Map<number, { offset: number; state: State }>();
  private head = 0;
  private accepted = 0;
  /** Everything below this offset is done (the commit point when nothing is outstanding). */
  private low: number;

  /** `start`: the offset the partition is consumed from (everything below is already committed). */
  constructor(start = 0) {
    this.low = start;
  }

  /** Records tracked and not yet behind the commit point: what the partition window bounds. */
  get size(): number {
    return this.entries.length - this.head;
  }

  /** Accepted and not finished. */
  get pending(): number {
    return this.accepted;
  }

  /** The offset to commit: the first not finished, or past the last finished when none is outstanding. */
  get committable(): number {
    return this.head < this.entries.length ? this.entries[this.head]!.offset : this.low;
  }

  /** True when the record was accepted before (a re-fetch after pause, seek or rebalance): skip it. */
  seen(offset: number): boolean {
    if (offset < this.low) return true;
    const e = this.byOffset.get(offset);
    return e !== undefined && e.state !== 'held';
  }

  /** A record fetched but not taken on: the commit point must not pass it. */
  hold(offset: number): void {
    if (this.byOffset.get(offset)) return;
    this.append(offset, 'held');
  }

  /** Taken on, to be started later (accept) when the window has room: tracked, not pending. */
  queue(offset: number): void {
    const e = this.byOffset.get(offset);
    if (e) {
      if (e.state !== 'held') throw new Error(`offset ${offset} queued twice`);
      e.state = 'queued';
      return;
    }
    this.append(offset, 'queued');
  }

  /** Started (from nothing, held or queued): pending until complete(). */
  accept(offset: number): void {
    const e = this.byOffset.get(offset);
    if (e) {
      if (e.state !== 'held' && e.state !== 'queued') throw new Error(`offset ${offset} accepted twice`);
      e.state = 'accepted';
      this.accepted += 1;
      return;
    }
    this.append(offset, 'accepted');
    this.accepted += 1;
  }

  /** Marks a record finished (its outcome is durable); returns true when the commit point moved. */
  complete(offset: number): boolean {
    const e = this.byOffset.get(offset);
    if (e?.state !== 'accepted') return false;
    e.state = 'done';
    this.accepted -= 1;
    const before = this.committable;
    while (this.head < this.entries.length && this.entries[this.head]!.state === 'done') {
      const done = this.entries[this.head]!;
      this.byOffset.delete(done.offset);
      this.low = done.offset + 1;
      this.head += 1;
    }
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries.splice(0, this.head);
      this.head = 0;
    }
    return this.committable !== before;
  }

  /**
   * Offsets first..last hold nothing to handle (a fetch of transaction markers only): the commit point
   * passes them once everything before is done. Ignored unless they come after every tracked offset.
   * Returns true when the commit point moved.
   */
  skip(first: number, last: number): boolean {
    const outstanding = this.head < this.entries.length;
    const newest = outstanding ? this.entries[this.entries.length - 1]!.offset : this.low - 1;
    if (first <= newest || last < first) return false;
    if (outstanding) {
      this.append(last, 'done');
      return false;
    }
    this.low = last + 1;
    return true;
  }

  private append(offset: number, state: State): void {
    const last = this.entries[this.entries.length - 1];
    if (offset < this.low || (last && this.head < this.entries.length && offset <= last.offset))
      throw new Error(`offset ${offset} out of order`);
    const e = { offset, state };
    this.entries.push(e);
    this.byOffset.set(offset, e);
  }
}
