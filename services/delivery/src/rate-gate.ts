/**
 * Where attempts wait for their webhook's rate (domain/rate-limit.ts decides when). Per webhook a FIFO
 * of waiting attempts and at most one timer: when it fires it lets go as many as the rate allows now
 * and sleeps until the next one may go, asking the time again each time (so a 429 that arrives while
 * batches wait holds them as well). `stop()` ends every wait with an AbortError.
 */
import type { RateLimits } from './domain/rate-limit.ts';

interface Waiter {
  perSecond: number | null | undefined;
  go: () => void;
  fail: (error: Error) => void;
}

interface Gate {
  queue: Waiter[];
  timer: NodeJS.Timeout | undefined;
}

export class RateGates {
  private readonly gates = new Map<string, Gate>();
  private stopped = false;
  private readonly limits: RateLimits;
  private readonly now: () => number;

  constructor(limits: RateLimits, now: () => number) {
    this.limits = limits;
    this.now = now;
  }

  /** Resolves when the webhook's next request may leave (at once when nothing waits and the rate allows). */
  wait(webhookId: string, perSecond: number | null | undefined): Promise<void> | null {
    if (this.stopped) return Promise.reject(aborted());
    const now = this.now();
    if (!this.gates.has(webhookId) && this.limits.nextAt(webhookId, perSecond, now) <= now) {
      this.limits.take(webhookId, perSecond, now);
      return null;
    }
    return new Promise<void>((go, fail) => {
      let gate = this.gates.get(webhookId);
      if (!gate) {
        gate = { queue: [], timer: undefined };
        this.gates.set(webhookId, gate);
      }
      gate.queue.push({ perSecond, go, fail });
      if (!gate.timer) this.release(webhookId, gate);
    });
  }

  /** Attempts waiting now, over every webhook. */
  get waiting(): number {
    let n = 0;
    for (const g of this.gates.values()) n += g.queue.length;
    return n;
  }

  stop(): void {
    this.stopped = true;
    for (const gate of this.gates.values()) {
      clearTimeout(gate.timer);
      for (const w of gate.queue.splice(0)) w.fail(aborted());
    }
    this.gates.clear();
  }

  private release(webhookId: string, gate: Gate): void {
    gate.timer = undefined;
    for (;;) {
      const head = gate.queue[0];
      if (!head) {
        this.gates.delete(webhookId);
        return;
      }
      const now = this.now();
      const at = this.limits.nextAt(webhookId, head.perSecond, now);
      if (at > now) {
        gate.timer = setTimeout(() => this.release(webhookId, gate), Math.min(at - now, 2 ** 31 - 1));
        return;
      }
      this.limits.take(webhookId, head.perSecond, now);
      gate.queue.shift();
      head.go();
    }
  }
}

function aborted(): Error {
  const error = new Error('stopped while waiting for the webhook rate limit');
  error.name = 'AbortError';
  return error;
}
