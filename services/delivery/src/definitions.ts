/** Names and defaults of the delivery service in one place. */

/**
 * Default retry tiers: seven delays that together span about a day (10 s + 100 s + 5 min + 30 min +
 * 2 h + 5 h + 10 h ≈ 17.6 h of waiting, so the last attempt lands most of a day after the first).
 */
export const DEFAULT_TIERS = '10s,100s,5m,30m,2h,5h,10h';

export const DELIVERY_DEFAULTS = {
  /**
   * Records of one partition accepted but not yet committable (in flight, waiting, or done behind one
   * that is not). A record holds its place until its outcome is acknowledged: its origin slot, the
   * request, then up to the outbox's linger plus a produce round trip (~15 ms in all on the bench's
   * machine). At one event per batch a partition therefore moved at most window / 15 ms: 64 capped one
   * webhook at ~3 900 batches/s with delivery ~60 % busy (bench peer phase, max_events 1); 256 gave
   * 4 500-4 800 and 512 no more. Large batches are bounded by maxInFlightBytes first.
   */
  partitionWindow: 256,
  /**
   * Bytes of batch records in flight in a process, every consumer together (a batch is up to
   * BATCH_MAX_BYTES of body): reaching it pauses fetching. 64 windows of 1 MiB batches on 12 partitions
   * of one topic would otherwise be ~770 MiB.
   */
  maxInFlightBytes: 32 * 1024 * 1024,
  /** Concurrent requests to one origin from this process; also the undici connection pool per origin. */
  perEndpoint: 8,
  /** Positive jitter as a fraction of the tier delay: 0.1 → 10 s becomes 10–11 s. */
  jitter: 0.1,
  /** How often resolved-but-uncommitted progress is committed even without new completions. */
  commitIntervalMs: 500,
  /** Fetch wait: a partition resumed at its due time is fetched within this. */
  maxWaitTimeMs: 100,
  /** Consecutive failed attempts (5xx, timeout, network) of one webhook that open its circuit. */
  breakerFailures: 5,
  /** How long an open circuit skips attempts before one half-open probe is let through. */
  breakerCooldownMs: 30_000,
  /**
   * A request running this long (or 4× its origin's recent successful latency, when longer) stops
   * holding one of the origin's slots (up to perEndpoint such requests; the origin's requests in all
   * stay within twice perEndpoint), and a webhook with failures in a row gets no other request while
   * it has one, so a webhook that starts hanging does not hold its neighbours for a whole timeout.
   * 0 turns it off.
   */
  slowRequestMs: 250,
  /** Pause to retry a produce that failed (broker outage); the record stays in flight meanwhile. */
  produceRetryMs: 1_000,
  /**
   * Longest wait for this process's subscription table to reach the webhook version a record carries
   * (x-webhook-version) when the table still shows the webhook suspended or disabled: a replay right
   * after a resume. The table applies a change within a fetch (well under a second) unless its reader
   * is down or far behind; the wait holds only that record's place in its partition's window.
   */
  versionWaitMs: 15_000,
} as const;

/** Roles a delivery process can run: the main consumer of batches, retry tiers, the suspender. */
export const ROLES = ['main', 'retry', 'suspender'] as const;

/** Consumer group names, prefixed like topics so side-by-side environments stay apart. */
export function groupIds(prefix: string) {
  return {
    main: `${prefix}hookpost-delivery`,
    tier: (tier: string) => `${prefix}hookpost-delivery-retry-${tier}`,
    suspender: `${prefix}hookpost-suspender`,
  };
}
