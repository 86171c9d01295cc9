/**
 * Emitted-offset watermarks of one input partition. Pure.
 *
 * The batcher commits whenever batches close, while other webhooks' batches of the partition are
 * still open, so the committed input offset stays at the first record of the oldest open batch and a
 * crash replays records that already left in committed batches. To skip those, every commit carries,
 * in the same transaction, per webhook the input offset of the last record that left (in a batch or
 * as a `deleted` dead letter) and the last offset dead-lettered as `poison`. A webhook's records leave
 * in offset order (its open batch is closed before one of its records is dead-lettered), so on replay
 * a record at or below its webhook's watermark has left in a committed transaction, and one above has
 * not. Watermarks below the committed offset can never matter again and are tombstoned.
 */

import { poisonKey, watermarkOffset, webhookKey } from '@hookpost/contracts';

/** Input offset to commit: the consumed position, held at the first record of the oldest open batch. */
export function commitOffset(position: bigint, firstOpenOffset: bigint | undefined): bigint {
  return firstOpenOffset !== undefined && firstOpenOffset < position ? firstOpenOffset : position;
}

// The key format is shared with the fan-out's reader (libs/contracts).
export { poisonKey, webhookKey };

export interface WatermarkRecord {
  key: string;
  /** The offset in decimal, or null (a tombstone). */
  value: string | null;
}

export class Watermarks {
  /** As of the open transaction. */
  private current = new Map<string, bigint>();
  /** As of the last committed transaction (what a reset returns to). */
  private durable = new Map<string, bigint>();
  private readonly dirty = new Set<string>();

  get size(): number {
    return this.current.size;
  }

  /** Whether the record at `offset` already left in a committed transaction (or in the open one). */
  left(key: string, offset: bigint): boolean {
    const w = this.current.get(key);
    return w !== undefined && offset <= w;
  }

  /** Records that the record at `offset` left (offsets of one key only grow). */
  emitted(key: string, offset: bigint): void {
    const w = this.current.get(key);
    if (w !== undefined && w >= offset) return;
    this.current.set(key, offset);
    this.dirty.add(key);
  }

  /**
   * What the commit at `committed` must write in its transaction: the changed watermarks that still
   * matter (≥ committed) and tombstones for the committed ones that no longer do.
   */
  pending(committed: bigint): WatermarkRecord[] {
    const out: WatermarkRecord[] = [];
    for (const [key, w] of this.current) {
      if (w < committed) {
        this.current.delete(key);
        if (this.durable.has(key)) out.push({ key, value: null });
      } else if (this.dirty.has(key)) {
        out.push({ key, value: String(w) });
      }
    }
    return out;
  }

  /** The transaction committed. */
  committed(): void {
    this.durable = new Map(this.current);
    this.dirty.clear();
  }

  /** The transaction aborted: back to the last committed watermarks. */
  rollback(): void {
    this.current = new Map(this.durable);
    this.dirty.clear();
  }

  /** Loads one record of the watermark topic (read committed, in order); foreign keys are ignored. */
  /**
   * One record of the partition's watermark topic; false when it is not one this batcher could have
   * written (another partition's key, or a value that is not an offset), which the caller counts and
   * skips: a bad watermark can only cost duplicates, never a stalled partition.
   */
  load(partition: number, key: string, value: string | null): boolean {
    if (!key.startsWith(`${partition}/`) && key !== poisonKey(partition)) return false;
    if (value === null) {
      this.current.delete(key);
      this.durable.delete(key);
      return true;
    }
    const offset = watermarkOffset(value);
    if (offset === undefined) return false;
    this.current.set(key, offset);
    this.durable.set(key, offset);
    return true;
  }
}
