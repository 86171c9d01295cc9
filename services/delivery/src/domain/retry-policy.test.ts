import { describe, expect, it } from 'vitest';
import { decide, MAIN_TIER, parseTiers, type Tier } from './retry-policy.ts';

const tiers: Tier[] = [
  { name: '200ms', delayMs: 200 },
  { name: '1s', delayMs: 1000 },
  { name: '5s', delayMs: 5000 },
];
const base = { tiers, now: 1_000_000, jitter: 0.1, random: () => 0.5 };
const retry = { kind: 'retry' as const, retryAfterMs: null };

describe('parseTiers', () => {
  it('reads the default day-long schedule', () => {
    const r = parseTiers('10s,100s,5m,30m,2h,5h,10h');
    expect(r.ok && r.tiers.map((t) => t.delayMs)).toEqual([
      10_000, 100_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000,
    ]);
    if (r.ok) expect(r.tiers.reduce((s, t) => s + t.delayMs, 0)).toBeGreaterThan(17 * 3_600_000);
  });
  it('refuses bad tokens and non-increasing delays with the reason', () => {
    expect(parseTiers('10x')).toMatchObject({ ok: false, reason: expect.stringContaining('10x') });
    expect(parseTiers('5m,1m')).toMatchObject({ ok: false, reason: expect.stringContaining('increase') });
    expect(parseTiers('')).toMatchObject({ ok: false });
  });
});

describe('decide', () => {
  it('maps final outcomes', () => {
    expect(
      decide({ ...base, fromTier: MAIN_TIER, outcome: { kind: 'delivered', retryAfterMs: null } }),
    ).toEqual({ kind: 'delivered' });
    expect(decide({ ...base, fromTier: MAIN_TIER, outcome: { kind: 'gone', retryAfterMs: null } })).toEqual({
      kind: 'dead',
      reason: 'gone',
    });
    expect(decide({ ...base, fromTier: '1s', outcome: { kind: 'refused', retryAfterMs: null } })).toEqual({
      kind: 'dead',
      reason: 'refused',
    });
  });

  it('walks the tiers in order with positive jitter, then gives up', () => {
    expect(decide({ ...base, fromTier: MAIN_TIER, outcome: retry })).toEqual({
      kind: 'retry',
      tier: tiers[0],
      dueAt: base.now + 210,
    });
    expect(decide({ ...base, fromTier: '200ms', outcome: retry })).toMatchObject({ tier: tiers[1] });
    expect(decide({ ...base, fromTier: '5s', outcome: retry })).toEqual({
      kind: 'dead',
      reason: 'exhausted',
    });
    const noJitter = decide({ ...base, random: () => 0, fromTier: MAIN_TIER, outcome: retry });
    expect(noJitter).toMatchObject({ dueAt: base.now + 200 });
  });

  it('honours Retry-After: never earlier, and in a tier long enough to keep the tier in due order', () => {
    const d = decide({ ...base, fromTier: MAIN_TIER, outcome: { kind: 'retry', retryAfterMs: 800 } });
    expect(d).toMatchObject({ kind: 'retry', tier: tiers[1] });
    if (d.kind === 'retry') expect(d.dueAt).toBeGreaterThanOrEqual(base.now + 1000);
    const long = decide({ ...base, fromTier: MAIN_TIER, outcome: { kind: 'retry', retryAfterMs: 60_000 } });
    expect(long).toEqual({ kind: 'retry', tier: tiers[2], dueAt: base.now + 60_000 });
    const short = decide({ ...base, fromTier: MAIN_TIER, outcome: { kind: 'retry', retryAfterMs: 50 } });
    expect(short).toMatchObject({ tier: tiers[0], dueAt: base.now + 210 });
  });
});
