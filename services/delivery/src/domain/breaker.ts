/**
 * Per-webhook circuit breaker; pure (the clock is injected). A circuit is closed until `failures`
 * consecutive attempts of its webhook fail (5xx, timeout, network error); it is then open for
 * `cooldownMs`, during which no attempt is made. After the cool-down the first attempt admitted is a
 * half-open probe (only one at a time): success closes the circuit, failure opens it for another
 * cool-down. Only circuits with a failure streak are kept, so memory is bounded by the failing webhooks.
 */

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures that open a circuit (positive integer). */
  failures: number;
  /** How long an open circuit refuses attempts before a probe is let through. */
  cooldownMs: number;
  now: () => number;
  /** Called on every state change (metrics, logs). */
  onTransition?: (key: string, to: CircuitState) => void;
}

interface Circuit {
  state: CircuitState;
  /** Consecutive failures while closed. */
  streak: number;
  openedAt: number;
  /** A half-open probe is in flight. */
  probing: boolean;
}

export class CircuitBreakers {
  private readonly o: BreakerOptions;
  private readonly circuits = new Map<string, Circuit>();

  constructor(options: BreakerOptions) {
    if (!Number.isInteger(options.failures) || options.failures < 1)
      throw new RangeError('failures must be a positive integer');
    if (!(options.cooldownMs >= 0)) throw new RangeError('cooldownMs must be a non-negative number');
    this.o = options;
  }

  /** The state as an observer sees it now (an open circuit past its cool-down reads half_open). */
  state(key: string): CircuitState {
    const c = this.circuits.get(key);
    if (!c) return 'closed';
    if (c.state === 'open' && this.cooled(c)) return 'half_open';
    return c.state;
  }

  /** What an attempt record says of the circuit right after the attempt (the API shows the newest). */
  snapshot(key: string): { state: CircuitState; failures: number; probe_at: number | null } {
    const c = this.circuits.get(key);
    if (!c) return { state: 'closed', failures: 0, probe_at: null };
    const state = this.state(key);
    return {
      state,
      failures: c.streak,
      probe_at: state === 'closed' ? null : c.openedAt + this.o.cooldownMs,
    };
  }

  /**
   * A webhook with failures in a row, or whose circuit is not closed: the origin limiter gives such
   * webhooks a capped share of its slots (limiter.ts) so they cannot fill it before the circuit opens.
   */
  suspect(key: string): boolean {
    return this.circuits.has(key);
  }

  /** Circuits not closed (open or half-open). */
  get notClosed(): number {
    let n = 0;
    for (const c of this.circuits.values()) if (c.state !== 'closed') n++;
    return n;
  }

  /** Whether an attempt would be admitted now, without claiming the probe (a cheap early check). */
  allows(key: string): boolean {
    const c = this.circuits.get(key);
    if (!c || c.state === 'closed') return true;
    if (c.state === 'open') return this.cooled(c);
    return !c.probing;
  }

  /**
   * Claims the right to attempt now: true when closed, or as the single half-open probe. Every true
   * must be followed by `record` for the same key (the probe is released there).
   */
  admit(key: string): boolean {
    const c = this.circuits.get(key);
    if (!c || c.state === 'closed') return true;
    if (c.state === 'open') {
      if (!this.cooled(c)) return false;
      this.move(key, c, 'half_open');
    }
    if (c.probing) return false;
    c.probing = true;
    return true;
  }

  /** The outcome of an admitted attempt. */
  record(key: string, ok: boolean): void {
    const c = this.circuits.get(key);
    if (ok) {
      if (!c) return;
      // An attempt admitted while closed may finish after the circuit opened: only the probe closes it.
      if (c.state === 'closed' || c.probing) {
        if (c.state !== 'closed') this.move(key, c, 'closed');
        this.circuits.delete(key);
      }
      return;
    }
    if (!c) {
      if (this.o.failures === 1) this.open(key, { state: 'closed', streak: 1, openedAt: 0, probing: false });
      else this.circuits.set(key, { state: 'closed', streak: 1, openedAt: 0, probing: false });
      return;
    }
    if (c.state === 'closed') {
      c.streak++;
      if (c.streak >= this.o.failures) this.open(key, c);
      return;
    }
    // A failed probe, or a late failure of an attempt admitted before the circuit opened.
    if (c.probing) this.open(key, c);
  }

  private open(key: string, c: Circuit): void {
    c.openedAt = this.o.now();
    c.probing = false;
    this.circuits.set(key, c);
    this.move(key, c, 'open');
  }

  private move(key: string, c: Circuit, to: CircuitState): void {
    c.state = to;
    this.o.onTransition?.(key, to);
  }

  private cooled(c: Circuit): boolean {
    return this.o.now() - c.openedAt >= this.o.cooldownMs;
  }
}

/** Whether an attempt result counts against the webhook's circuit: it did not answer, or answered 5xx. */
export function isCircuitFailure(r: { kind: string; status: number | null }): boolean {
  return r.kind === 'retry' && r.status !== 429;
}
