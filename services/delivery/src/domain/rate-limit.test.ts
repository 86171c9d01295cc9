import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RATE_LIMIT, RateLimits } from './rate-limit.ts';

/** Departure times of requests that ask at `asks` (ms), each leaving after the wait it is given. */
function departures(limits: RateLimits, perSecond: number | null, asks: number[]): number[] {
  let previous = Number.NEGATIVE_INFINITY;
  return asks.map((ask) => {
    // First in, first out: no one leaves before the one that asked earlier.
    const t = Math.max(ask, previous, limits.nextAt('w', perSecond, Math.max(ask, previous)));
    limits.take('w', perSecond, t);
    previous = t;
    return t;
  });
}

/** The most departures in any window [t, t + 1000). */
function peakPerSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

describe('per-webhook rate limit', () => {
  it('lets a burst of floor(rate) go at once, then one every 1/rate s, in the order asked', () => {
    const limits = new RateLimits();
    const out = departures(limits, 5, Array(12).fill(1_000));
    expect(out.slice(0, 5)).toEqual([1000, 1000, 1000, 1000, 1000]);
    expect(out.slice(5)).toEqual([1200, 1400, 1600, 1800, 2000, 2200, 2400]);
  });

  it('a rate below one per second spaces every request, the first goes at once', () => {
    const limits = new RateLimits();
    expect(departures(limits, 0.5, [0, 0, 0])).toEqual([0, 2000, 4000]);
  });

  it('no configured rate: nothing waits, and nothing is kept per webhook', () => {
    const limits = new RateLimits();
    expect(departures(limits, null, Array(1000).fill(5))).toEqual(Array(1000).fill(5));
    expect(limits.size).toBe(0);
  });

  it('property: at, just past and far past the rate, no second ever sees more than max(1, floor(rate)) + rate', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 3000 }),
        (rate, raw) => {
          const asks = [...raw].sort((a, b) => a - b);
          const out = departures(new RateLimits(), rate, asks);
          // Never earlier than asked, and in the order asked.
          out.forEach((d, i) => {
            expect(d).toBeGreaterThanOrEqual(asks[i]!);
            if (i > 0) expect(d).toBeGreaterThanOrEqual(out[i - 1]!);
          });
          expect(peakPerSecond(out)).toBeLessThanOrEqual(Math.max(1, Math.floor(rate)) + Math.ceil(rate));
        },
      ),
    );
  });

  it('property: over a long run the rate is kept (count ≤ burst + rate × span)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 100, max: 5000 }), (rate, n) => {
        const out = departures(new RateLimits(), rate, Array(n).fill(0));
        const span = out[out.length - 1]! - out[0]!;
        expect(n).toBeLessThanOrEqual(rate + Math.floor((span * rate) / 1000) + 1);
      }),
    );
  });

  it('a 429 with Retry-After holds the webhook (configured rate or not) and halves its rate', () => {
    const limits = new RateLimits();
    limits.record('w', 429, 3_000, 1_000);
    expect(limits.nextAt('w', null, 1_000)).toBe(4_000);
    expect(limits.nextAt('w', 10, 2_000)).toBe(4_000);
    expect(limits.effective('w', 10)).toBe(5);
    limits.record('x', 429, null, 0);
    expect(limits.nextAt('x', null, 0)).toBe(0);
  });

  it('repeated 429s floor the rate at 1/16; quiet successes double it back every 10 s', () => {
    const limits = new RateLimits();
    for (let i = 0; i < 10; i++) limits.record('w', 429, 0, i);
    expect(limits.effective('w', 16)).toBe(1);
    expect(RATE_LIMIT.minFactor).toBe(1 / 16);
    limits.record('w', 200, null, 9 + RATE_LIMIT.recoverAfterMs - 1);
    expect(limits.effective('w', 16)).toBe(1);
    let t = 9;
    for (const expected of [2, 4, 8, 16, 16]) {
      t += RATE_LIMIT.recoverAfterMs;
      limits.record('w', 200, null, t);
      expect(limits.effective('w', 16)).toBe(expected);
    }
  });

  it('forgets idle webhooks, keeping a pending Retry-After', () => {
    const limits = new RateLimits();
    for (let i = 0; i < 5000; i++) limits.take(`w${i}`, 1, 0);
    limits.record('held', 429, 3 * RATE_LIMIT.idleForgetMs, 0);
    expect(limits.size).toBe(5001);
    limits.take('other', null, RATE_LIMIT.idleForgetMs + 1);
    expect(limits.size).toBe(1);
    expect(limits.nextAt('held', null, RATE_LIMIT.idleForgetMs + 1)).toBe(3 * RATE_LIMIT.idleForgetMs);
  });
});
