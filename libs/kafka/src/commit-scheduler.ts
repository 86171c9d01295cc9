/**
 * When a partition consumer's progress goes to the broker: completions coalesce into one commit, at
 * most one per `minGapMs` (the first after a quiet spell goes at once), one commit request is in flight
 * at a time (a later change waits and goes next), a timer flushes every interval, and every
 * `recommitEvery` intervals the owned partitions are committed again even without progress. Which
 * offsets may be committed is the consumer's business (`pending`).
 *
 * The gap: committing on every completion tick kept one commit in flight back to back, ~90 commits/s
 * at 1 000 requests/s to one partition, each an offsets write on the broker and a request from us,
 * while what it buys is at most `minGapMs` less finished work redelivered after a crash (issue 15).
 *
 * The forced re-commit: KafkaJS retries a failed commitOffsets after a rebalance with the *new*
 * generation, so a commit a member built before losing a partition can land after the new owner's and
 * move that partition's offset back (never past unfinished work: it only claims records that member
 * finished). Re-committing now and then repairs that; the cost is one small request.
 */

export interface CommitOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface CommitSchedulerOptions {
  intervalMs: number;
  /** Least time between the starts of two commits a completion asks for (default 0: the next tick). */
  minGapMs?: number;
  /** Every this many intervals, `pending(true)`: owned partitions again even without progress. */
  recommitEvery: number;
  /** What to commit now (empty: nothing, e.g. no consumer while it is rebuilt). */
  pending: (force: boolean) => CommitOffset[];
  commit: (offsets: CommitOffset[]) => Promise<void>;
  onCommitted: (offsets: CommitOffset[]) => void;
  /** A failed commit (usually a rebalance in progress); the next flush retries with the then-current progress. */
  onError: (error: unknown) => void;
}

export class CommitScheduler {
  private readonly o: CommitSchedulerOptions;
  private timer: NodeJS.Timeout | undefined;
  private committing: Promise<void> | undefined;
  private again = false;
  private lastStart = Number.NEGATIVE_INFINITY;
  private gapTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(options: CommitSchedulerOptions) {
    this.o = options;
  }

  start(): void {
    let tick = 0;
    this.timer = setInterval(() => {
      tick += 1;
      void this.flush(tick % this.o.recommitEvery === 0);
    }, this.o.intervalMs);
    this.timer.unref();
  }

  /** A commit soon: completions of the same tick coalesce into one. */
  schedule(): void {
    if (this.again) return;
    this.again = true;
    const wait = this.stopped ? 0 : this.lastStart + (this.o.minGapMs ?? 0) - performance.now();
    if (wait <= 0) setImmediate(() => void this.flush());
    else if (!this.gapTimer)
      this.gapTimer = setTimeout(() => {
        this.gapTimer = undefined;
        void this.flush();
      }, Math.ceil(wait));
  }

  /** Stops the timer, commits what is pending and waits for the request. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped = true;
    clearTimeout(this.gapTimer);
    this.gapTimer = undefined;
    await this.flush();
    while (this.committing) await this.committing;
  }

  private flush(force = false): Promise<void> {
    if (this.committing) {
      this.again = true;
      return this.committing;
    }
    this.again = false;
    const offsets = this.o.pending(force);
    if (offsets.length === 0) return Promise.resolve();
    this.lastStart = performance.now();
    this.committing = this.o
      .commit(offsets)
      .then(() => this.o.onCommitted(offsets))
      .catch((error: unknown) => this.o.onError(error))
      .finally(() => {
        this.committing = undefined;
        if (!this.again) return;
        if (this.stopped) void this.flush();
        else {
          this.again = false;
          this.schedule();
        }
      });
    return this.committing;
  }
}
