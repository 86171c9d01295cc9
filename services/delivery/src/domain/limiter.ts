/**
 * Per-key concurrency limit (key = endpoint origin): at most `limit` tasks of a key run at once, the
 * rest wait in FIFO order. The queue itself is bounded from outside: a task only exists for a record
 * that its partition window admitted, so waiting work never exceeds partitions × window.
 *
 * Tasks of "suspect" webhooks (failures in a row, or a half-open probe: breaker.ts) share at most
 * `suspectLimit` of a key's slots (half of them by default), one per webhook, and a freed slot goes to
 * a waiting healthy task first. So webhooks that fail on a shared origin hold at most half of it while
 * their circuits open, and their neighbours always find slots (issue 14's isolation).
 *
 * A hanging webhook's first requests are not suspect yet (nothing has failed), and a suspect's request
 * that hangs holds a share slot for its whole timeout. So with `slow`, a task that runs longer than the
 * origin's slow threshold — `slow.floorMs`, or `slow.factor` times the origin's recent successful
 * latency when that is more — stops counting against the limit and the share: its slot goes to the
 * next task. At most `cap − limit` tasks of a key are slow at once (a task past the threshold when
 * they are keeps its slot until one ends), so the key's tasks in all stay within `cap` (twice the
 * limit by default; undici's pool per origin is sized to it). `isSlow` tells the caller that a webhook
 * has such a task, which the deliverer uses to refuse a suspect webhook's other batches meanwhile.
 */
export class KeyedLimiter {
  private readonly limit: number;
  private readonly suspectLimit: number;
  private readonly slowLimit: number;
  private readonly slow: SlowPolicy | null;
  private readonly keys = new Map<string, KeyState>();
  /** Origin → moving average of its successful latencies (ms); kept while the origin idles, bounded. */
  private readonly latencies = new Map<string, number>();

  constructor(limit: number, options: LimiterOptions = {}) {
    const suspectLimit = options.suspectLimit ?? Math.max(1, Math.floor(limit / 2));
    const cap = options.cap ?? 2 * limit;
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError('limit must be a positive integer');
    if (!Number.isInteger(suspectLimit) || suspectLimit < 1 || suspectLimit > limit)
      throw new RangeError('suspectLimit must be an integer from 1 to limit');
    if (!Number.isInteger(cap) || cap < limit) throw new RangeError('cap must be an integer from limit up');
    this.limit = limit;
    this.suspectLimit = suspectLimit;
    this.slow = options.slow ?? null;
    this.slowLimit = this.slow ? cap - limit : 0;
  }

  /** Tasks running for `key` now (slow ones included). */
  active(key: string): number {
    return this.keys.get(key)?.running ?? 0;
  }

  /** Tasks running across all keys. */
  get total(): number {
    let n = 0;
    for (const k of this.keys.values()) n += k.running;
    return n;
  }

  /** Whether `webhook` has a task on `key` running past the slow threshold. */
  isSlow(key: string, webhook: string): boolean {
    return this.keys.get(key)?.slowBy.has(webhook) ?? false;
  }

  /** A successful request's latency on `key`: the slow threshold follows the origin's own pace. */
  observe(key: string, latencyMs: number): void {
    if (!Number.isFinite(latencyMs) || latencyMs < 0) return;
    const before = this.latencies.get(key);
    this.latencies.delete(key);
    this.latencies.set(key, before === undefined ? latencyMs : before + (latencyMs - before) / 16);
    // Least recently observed origins go first.
    if (this.latencies.size > MAX_ORIGINS) this.latencies.delete(this.latencies.keys().next().value!);
  }

  /**
   * Runs `task` when the key has a free slot; the slot is released however the task ends. A task of a
   * `suspect` webhook also needs a free suspect slot and no other task of that webhook holding one.
   * `suspect` is asked again when a waiting task's turn comes (its webhook may have failed meanwhile).
   */
  async run<T>(
    key: string,
    task: () => Promise<T>,
    webhook?: string,
    suspect: boolean | (() => boolean) = false,
  ): Promise<T> {
    const k = this.stateOf(key);
    const isSuspect = typeof suspect === 'function' ? suspect : () => suspect;
    const asSuspect = await this.acquire(k, webhook, isSuspect);
    const running: Running = { webhook, suspect: asSuspect, slow: false, overdue: false, timer: undefined };
    if (this.slow) {
      const threshold = Math.max(this.slow.floorMs, this.slow.factor * (this.latencies.get(key) ?? 0));
      running.timer = setTimeout(() => this.overdue(k, running), threshold);
      running.timer.unref?.();
    }
    try {
      return await task();
    } finally {
      clearTimeout(running.timer);
      this.release(key, k, running);
    }
  }

  private stateOf(key: string): KeyState {
    let k = this.keys.get(key);
    if (!k) {
      k = {
        running: 0,
        fresh: 0,
        suspects: new Set(),
        slow: 0,
        slowBy: new Map(),
        overdue: [],
        normal: [],
        suspect: [],
      };
      this.keys.set(key, k);
    }
    return k;
  }

  private fits(k: KeyState, suspect: string | undefined): boolean {
    if (k.fresh + k.suspects.size >= this.limit) return false;
    return suspect === undefined || (k.suspects.size < this.suspectLimit && !k.suspects.has(suspect));
  }

  private take(k: KeyState, suspect: string | undefined): void {
    k.running += 1;
    if (suspect !== undefined) k.suspects.add(suspect);
    else k.fresh += 1;
  }

  /** Resolves with the lane the task was admitted in: its webhook id when suspect. */
  private acquire(
    k: KeyState,
    webhook: string | undefined,
    isSuspect: () => boolean,
  ): Promise<string | undefined> {
    // Healthy tasks are FIFO. A waiting suspect task waits for its own webhook's running task (or a
    // full share), so another suspect webhook's newcomer that fits may start beside it.
    const suspect = webhook !== undefined && isSuspect() ? webhook : undefined;
    const lane = suspect === undefined ? k.normal : k.suspect;
    if ((suspect !== undefined || lane.length === 0) && this.fits(k, suspect)) {
      this.take(k, suspect);
      return Promise.resolve(suspect);
    }
    return new Promise((resolve) => lane.push({ webhook, isSuspect, suspect, resolve }));
  }

  /** A task ran past the threshold: slow at once if the key has room for one more, else when it does. */
  private overdue(k: KeyState, r: Running): void {
    r.overdue = true;
    if (k.slow < this.slowLimit) this.slowed(k, r);
    else k.overdue.push(r);
  }

  /** Its slot (or share slot) is freed for the next task; it counts only among the slow ones. */
  private slowed(k: KeyState, r: Running): void {
    r.slow = true;
    k.slow += 1;
    if (r.suspect !== undefined) k.suspects.delete(r.suspect);
    else k.fresh -= 1;
    if (r.webhook !== undefined) k.slowBy.set(r.webhook, (k.slowBy.get(r.webhook) ?? 0) + 1);
    this.pump(k);
  }

  private release(key: string, k: KeyState, r: Running): void {
    k.running -= 1;
    if (r.slow) {
      k.slow -= 1;
      if (r.webhook !== undefined) {
        const n = k.slowBy.get(r.webhook)! - 1;
        if (n === 0) k.slowBy.delete(r.webhook);
        else k.slowBy.set(r.webhook, n);
      }
    } else {
      if (r.overdue) k.overdue.splice(k.overdue.indexOf(r), 1);
      if (r.suspect !== undefined) k.suspects.delete(r.suspect);
      else k.fresh -= 1;
    }
    // Room among the slow ones: the longest-waiting overdue task takes it.
    if (k.slow < this.slowLimit && k.overdue.length > 0) this.slowed(k, k.overdue.shift()!);
    else this.pump(k);
    if (k.running === 0 && k.normal.length === 0 && k.suspect.length === 0) this.keys.delete(key);
  }

  /** Healthy tasks first; then the first suspect task that fits (another webhook's may, when the head's still has a task running). */
  private pump(k: KeyState): void {
    while (k.normal.length > 0 && this.fits(k, undefined)) {
      const w = k.normal.shift()!;
      // Turned suspect while it waited (its webhook failed meanwhile): the suspect lane.
      if (w.webhook !== undefined && w.isSuspect()) {
        w.suspect = w.webhook;
        k.suspect.push(w);
        continue;
      }
      this.take(k, undefined);
      w.resolve(undefined);
    }
    for (let i = 0; i < k.suspect.length && k.suspects.size < this.suspectLimit; ) {
      const w = k.suspect[i]!;
      if (!this.fits(k, w.suspect)) {
        i++;
        continue;
      }
      k.suspect.splice(i, 1);
      this.take(k, w.suspect);
      w.resolve(w.suspect);
    }
  }
}

/** Origins whose latency the limiter remembers. */
const MAX_ORIGINS = 10_000;

export interface SlowPolicy {
  /** A task running this long (at least) is slow. */
  floorMs: number;
  /** … or this many times the origin's recent successful latency, when that is longer. */
  factor: number;
}

export interface LimiterOptions {
  /** Slots suspect webhooks share together (default half the limit). */
  suspectLimit?: number;
  /** Slow-task release (default off: tasks hold their slot until they end). */
  slow?: SlowPolicy;
  /** Tasks of a key in all, slow ones included (default twice the limit; the limit without `slow`). */
  cap?: number;
}

interface Running {
  webhook: string | undefined;
  suspect: string | undefined;
  /** Past the threshold and counted among the slow ones (its slot freed). */
  slow: boolean;
  /** Past the threshold (slow, or waiting for room among the slow ones). */
  overdue: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
}

interface Waiting {
  webhook: string | undefined;
  isSuspect: () => boolean;
  /** Its webhook id once it waits in the suspect lane. */
  suspect: string | undefined;
  resolve: (suspect: string | undefined) => void;
}

interface KeyState {
  /** Every task running, slow ones included. */
  running: number;
  /** Healthy tasks running and not slow: with `suspects`, what the limit counts. */
  fresh: number;
  /** Suspect webhooks with a task running and not slow (one each). */
  suspects: Set<string>;
  /** Tasks running past the threshold with their slot freed (at most cap − limit). */
  slow: number;
  /** Webhook → how many of its tasks are slow. */
  slowBy: Map<string, number>;
  /** Tasks past the threshold waiting for room among the slow ones, oldest first. */
  overdue: Running[];
  normal: Waiting[];
  suspect: Waiting[];
}

/**
 * endpointKey per URL string, remembered: parsing the URL was ~0.5 µs and three objects per attempt.
 * Bounded; the oldest entry goes first.
 */
export class EndpointKeys {
  private readonly keys = new Map<string, string>();

  of(url: string): string {
    let key = this.keys.get(url);
    if (key === undefined) {
      key = endpointKey(url);
      if (this.keys.size >= MAX_ORIGINS) this.keys.delete(this.keys.keys().next().value!);
      this.keys.set(url, key);
    }
    return key;
  }
}

/** The limiter key of a webhook URL: its origin (scheme, host, port), what undici pools by. */
export function endpointKey(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'invalid';
  }
}
