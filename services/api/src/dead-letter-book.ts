/**
 * The dead-letter index's figures, updated record by record (pure: the consumer is dead-letter-index.ts).
 * Per webhook: counts, events and oldest/newest by reason, and the newest `keep` records by dead_at;
 * for every webhook: totals by reason and the dead_at times of the last 24 h (for "last hour / 24 h").
 */
const DAY = 24 * 60 * 60 * 1000;

export interface LetterSummary {
  dlq_id: string;
  webhook_id: string | null;
  reason: string;
  dead_at: number;
  events: number;
  attempts: number;
  batch_id: string | null;
  error: string | null;
}

interface ReasonRow {
  reason: string;
  count: number;
  events: number;
  oldest: number;
  newest: number;
}

interface WebhookBook {
  total: number;
  byReason: Map<string, ReasonRow>;
  /** The newest records, oldest first. */
  newest: LetterSummary[];
}

/** Index of the first element of the sorted `xs` whose key is greater than `key`. */
function upperBound<T>(xs: readonly T[], key: number, of: (x: T) => number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (of(xs[mid]!) <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class DeadLetterBook {
  private readonly keep: number;
  private readonly webhooks = new Map<string, WebhookBook>();
  private readonly replays = new Map<string, number>();
  private readonly recent: number[] = [];
  private recentSorted = true;
  total = 0;
  unreadableCount = 0;
  readonly byReason = new Map<string, number>();

  constructor(keep: number) {
    this.keep = keep;
  }

  add(l: LetterSummary): void {
    this.total += 1;
    this.byReason.set(l.reason, (this.byReason.get(l.reason) ?? 0) + 1);
    // Only the last 24 h are ever asked for (the overview's growth figures).
    if (l.dead_at >= Date.now() - DAY) {
      this.recent.push(l.dead_at);
      this.recentSorted = false;
    }
    const key = l.webhook_id ?? '';
    let w = this.webhooks.get(key);
    if (!w) {
      w = { total: 0, byReason: new Map(), newest: [] };
      this.webhooks.set(key, w);
    }
    w.total += 1;
    const row = w.byReason.get(l.reason) ?? {
      reason: l.reason,
      count: 0,
      events: 0,
      oldest: l.dead_at,
      newest: l.dead_at,
    };
    row.count += 1;
    row.events += l.events;
    row.oldest = Math.min(row.oldest, l.dead_at);
    row.newest = Math.max(row.newest, l.dead_at);
    w.byReason.set(l.reason, row);
    if (w.newest.length >= this.keep && l.dead_at < w.newest[0]!.dead_at) return;
    w.newest.splice(
      upperBound(w.newest, l.dead_at, (x) => x.dead_at),
      0,
      l,
    );
    if (w.newest.length > this.keep) w.newest.shift();
  }

  unreadable(): void {
    this.unreadableCount += 1;
  }

  replayed(dlqId: string, at: number): void {
    this.replays.set(dlqId, at);
  }

  unreplay(dlqId: string): void {
    this.replays.delete(dlqId);
  }

  /** A webhook's figures: reasons by count (then oldest first), the newest `limit` records newest first. */
  webhook(id: string, limit: number) {
    const w = this.webhooks.get(id);
    if (!w) return { total: 0, byReason: [] as ReasonRow[], letters: [] };
    return {
      total: w.total,
      byReason: [...w.byReason.values()]
        .map((r) => ({ ...r }))
        .sort((a, b) => b.count - a.count || a.oldest - b.oldest),
      letters: w.newest
        .slice(-limit)
        .reverse()
        .map((l) => ({ ...l, replayed_at: this.replays.get(l.dlq_id) ?? null })),
    };
  }

  /** Dead letters since `from` (within the last 24 h of `now`); older times are dropped. */
  since(from: number, now: number): number {
    if (!this.recentSorted) {
      this.recent.sort((a, b) => a - b);
      this.recentSorted = true;
    }
    const drop = upperBound(this.recent, now - DAY - 1, (x) => x);
    if (drop > 0) this.recent.splice(0, drop);
    return this.recent.length - upperBound(this.recent, from - 1, (x) => x);
  }
}
