/**
 * Per-webhook request rate (`rate_limit.per_second`) and the receiver's own `429 Retry-After`; pure,
 * clock passed in. One request (one batch) takes one slot (GCRA: the token bucket written as a
 * "theoretical arrival time"). The waiting itself is RateGates' (rate-gate.ts): one timer per waiting
 * webhook, its batches released in the order they came, no polling; a 429 arriving while batches wait
 * holds them too, because the time is asked again when the timer fires.
 *
 * - Burst: up to `max(1, floor(per_second))` requests at once after an idle second, then the rate.
 * - `429` with `Retry-After`: nothing leaves for that webhook before then (with or without a
 *   configured rate), and a configured rate is halved (down to 1/16 of it); each request that is
 *   not a 429, 10 s (`recoverAfterMs`) after the last 429 or the last step back, doubles it again,
 *   up to the configured rate.
 */

export const RATE_LIMIT = {
  /** The effective rate never drops below the configured one divided by this. */
  minFactor: 1 / 16,
  /** Quiet time after a 429 before successful requests start restoring the rate. */
  recoverAfterMs: 10_000,
  /** Entries of webhooks unseen for this long are forgotten (bounded memory). */
  idleForgetMs: 10 * 60_000,
} as const;

interface Slot {
  /** When the next request may leave if nothing else is waiting (ms); the GCRA state. */
  tat: number;
  /** Nothing leaves before this (a 429's Retry-After). */
  notBefore: number;
  /** Share of the configured rate in force (1 = configured; halved per 429). */
  factor: number;
  /** The last 429, or the last step back towards the configured rate. */
  last429: number;
  seen: number;
}

export class RateLimits {
  private readonly slots = new Map<string, Slot>();
  private sweptAt = 0;

  /**
   * When the webhook's next request may leave (ms; at most `now` means now). `perSecond` null or
   * absent: only a pending Retry-After applies. Nothing is taken: see `take`.
   */
  nextAt(webhookId: string, perSecond: number | null | undefined, now: number): number {
    const s = this.slots.get(webhookId);
    if (!s) return now;
    const hold = Math.max(now, s.notBefore);
    if (!perSecond) return hold;
    const interval = 1000 / (perSecond * s.factor);
    const burst = Math.max(1, Math.floor(perSecond * s.factor));
    return Math.max(hold, s.tat - (burst - 1) * interval);
  }

  /** A request leaves now (call when `nextAt` ≤ now): it takes its slot. */
  take(webhookId: string, perSecond: number | null | undefined, now: number): void {
    this.sweep(now);
    let s = this.slots.get(webhookId);
    if (!perSecond) {
      if (s) s.seen = now;
      return;
    }
    if (!s) {
      s = { tat: now, notBefore: 0, factor: 1, last429: 0, seen: now };
      this.slots.set(webhookId, s);
    }
    s.seen = now;
    s.tat = Math.max(s.tat, now) + 1000 / (perSecond * s.factor);
  }

  /** The outcome of a request: a 429 holds the webhook until `retryAfterMs` and halves its rate. */
  record(webhookId: string, status: number | null, retryAfterMs: number | null, now: number): void {
    let s = this.slots.get(webhookId);
    if (status === 429) {
      if (!s) {
        s = { tat: now, notBefore: 0, factor: 1, last429: 0, seen: now };
        this.slots.set(webhookId, s);
      }
      s.notBefore = Math.max(s.notBefore, now + Math.max(0, retryAfterMs ?? 0));
      s.factor = Math.max(RATE_LIMIT.minFactor, s.factor / 2);
      s.last429 = now;
      s.seen = now;
      return;
    }
    if (s && s.factor < 1 && now - s.last429 >= RATE_LIMIT.recoverAfterMs) {
      s.factor = Math.min(1, s.factor * 2);
      s.last429 = now;
    }
  }

  /** The rate in force for a webhook now (its configured rate times the 429 factor); for logs and tests. */
  effective(webhookId: string, perSecond: number): number {
    return perSecond * (this.slots.get(webhookId)?.factor ?? 1);
  }

  get size(): number {
    return this.slots.size;
  }

  private sweep(now: number): void {
    if (now - this.sweptAt < RATE_LIMIT.idleForgetMs) return;
    this.sweptAt = now;
    for (const [id, s] of this.slots)
      if (now - s.seen > RATE_LIMIT.idleForgetMs && s.notBefore <= now && s.tat <= now) this.slots.delete(id);
  }
}
