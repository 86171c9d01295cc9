/**
 * One assigned partition of a PartitionConsumer: its offset tracker, the records taken on that wait
 * for room in the window, the due times of records held for later (retry tiers), and why it is paused. A partition is paused while it has any reason (the
 * window is full, or its head is held until a due time) and resumed when the last reason goes; the
 * consumer-wide effects (KafkaJS pause/resume, the paused gauge) go through `flow`.
 */
import { OffsetTracker } from './offset-tracker.ts';

export type PauseReason = 'window' | 'due' | 'bytes';

export interface PartitionFlow {
  pause(partition: number): void;
  resume(partition: number): void;
  /** A partition's paused state changed (the gauge is recounted). */
  changed(): void;
}

export class PartitionState<Queued = unknown> {
  readonly partition: number;
  readonly tracker: OffsetTracker;
  /** Records taken on (fetched, tracked as queued) that wait, in offset order, for room in the window. */
  readonly waiting: Queued[] = [];
  /** Bytes of the values in `waiting`. */
  waitingBytes = 0;
  /** Due times of held records, so a partition whose head is held knows when to look again. */
  readonly heldDue = new Map<number, number>();
  /** Highest offset committed in this assignment (-1: none yet; a rebalance resets it). */
  committed = -1;
  private readonly reasons = new Set<PauseReason>();
  private dueTimer: NodeJS.Timeout | undefined;
  private dueAt = Number.POSITIVE_INFINITY;
  private readonly flow: PartitionFlow;
  private readonly now: () => number;

  constructor(partition: number, firstOffset: number, flow: PartitionFlow, now: () => number) {
    this.partition = partition;
    this.tracker = new OffsetTracker(firstOffset);
    this.flow = flow;
    this.now = now;
  }

  get paused(): boolean {
    return this.reasons.size > 0;
  }

  pausedFor(reason: PauseReason): boolean {
    return this.reasons.has(reason);
  }

  pause(reason: PauseReason): void {
    if (this.reasons.size === 0) this.flow.pause(this.partition);
    this.reasons.add(reason);
    this.flow.changed();
  }

  resume(reason: PauseReason): void {
    if (!this.reasons.delete(reason)) return;
    if (this.reasons.size === 0) this.flow.resume(this.partition);
    this.flow.changed();
  }

  /** Pauses until `dueAt`: one timer per partition, moved earlier if an earlier record is held. */
  pauseUntil(dueAt: number): void {
    if (this.dueTimer && this.dueAt <= dueAt) return;
    clearTimeout(this.dueTimer);
    this.dueAt = dueAt;
    this.pause('due');
    const wait = Math.min(Math.max(0, dueAt - this.now()), 2 ** 31 - 1);
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.resume('due');
    }, wait);
  }

  /** The partition is dropped or the consumer stops: no due timer may fire later. */
  clearTimer(): void {
    clearTimeout(this.dueTimer);
  }
}
