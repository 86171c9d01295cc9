import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RateLimits } from './domain/rate-limit.ts';
import { RateGates } from './rate-gate.ts';

describe('rate gates', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('releases a webhook’s waiting attempts in order at its rate, on timers; others pass', async () => {
    const gates = new RateGates(new RateLimits(), Date.now);
    const left: [number, number][] = [];
    for (let i = 0; i < 6; i++) {
      const w = gates.wait('a', 2);
      if (!w) left.push([i, Date.now()]);
      else void w.then(() => left.push([i, Date.now()]));
    }
    expect(gates.wait('b', null)).toBeNull();
    expect(gates.waiting).toBe(4);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(left).toEqual([
      [0, 0],
      [1, 0],
      [2, 500],
      [3, 1000],
      [4, 1500],
      [5, 2000],
    ]);
    expect(gates.waiting).toBe(0);
  });

  it('a 429 recorded while attempts wait holds them too', async () => {
    const limits = new RateLimits();
    const gates = new RateGates(limits, Date.now);
    expect(gates.wait('a', 1)).toBeNull();
    let at = -1;
    void gates.wait('a', 1)!.then(() => {
      at = Date.now();
    });
    limits.record('a', 429, 5_000, Date.now());
    await vi.advanceTimersByTimeAsync(4_999);
    expect(at).toBe(-1);
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toBe(5_000);
  });

  it('stop ends every wait with an AbortError, and later waits too', async () => {
    const gates = new RateGates(new RateLimits(), Date.now);
    gates.wait('a', 0.1);
    const waits = Array.from({ length: 100 }, () => gates.wait('a', 0.1)!);
    gates.stop();
    for (const w of waits) await expect(w).rejects.toMatchObject({ name: 'AbortError' });
    await expect(gates.wait('a', null)).rejects.toMatchObject({ name: 'AbortError' });
    expect(gates.waiting).toBe(0);
  });
});
