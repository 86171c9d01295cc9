import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { BoundCounter, BoundHistogram } from './series.ts';

/** Exposition lines as a set of `name{sorted labels} value`: label order is not part of the format. */
function lines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const m = /^([^{ ]+)(?:\{([^}]*)\})? (.+)$/.exec(l);
      if (!m || l.startsWith('#')) return l;
      const labels = (m[2] ?? '').split(',').filter(Boolean).sort().join(',');
      return `${m[1]}{${labels}} ${Number(m[3])}`;
    })
    .sort();
}

const BUCKETS = [0.005, 0.01, 0.05, 0.1, 1, 5, 30];
const TIERS = ['main', '10s', '5m'] as const;

describe('bound series', () => {
  it('expose what prom-client exposes for the same observations, default labels included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            tier: fc.constantFrom(...TIERS),
            outcome: fc.constantFrom('delivered', 'retry'),
            value: fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.constantFrom(...BUCKETS)),
          }),
          { maxLength: 300 },
        ),
        async (obs) => {
          const theirs = new Registry();
          const ours = new Registry();
          for (const r of [theirs, ours]) r.setDefaultLabels({ service: 'delivery' });
          const h1 = new Histogram({
            name: 'x_seconds',
            help: 'h',
            labelNames: ['tier'],
            buckets: BUCKETS,
            registers: [theirs],
          });
          const c1 = new Counter({
            name: 'x_total',
            help: 'c',
            labelNames: ['outcome', 'tier'],
            registers: [theirs],
          });
          const h2 = new BoundHistogram({
            name: 'x_seconds',
            help: 'h',
            labelNames: ['tier'],
            buckets: BUCKETS,
            registers: [ours],
          });
          const c2 = new BoundCounter({
            name: 'x_total',
            help: 'c',
            labelNames: ['outcome', 'tier'],
            registers: [ours],
          });
          for (const o of obs) {
            h1.observe({ tier: o.tier }, o.value);
            c1.inc({ outcome: o.outcome, tier: o.tier });
            h2.series({ tier: o.tier }).observe(o.value);
            c2.series({ outcome: o.outcome, tier: o.tier }).inc();
          }
          expect(lines(await ours.metrics())).toEqual(lines(await theirs.metrics()));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('a series is one object per label set, and missing labels or bad values are refused', () => {
    const registry = new Registry();
    const h = new BoundHistogram({
      name: 'y_seconds',
      help: 'h',
      labelNames: ['tier'],
      buckets: BUCKETS,
      registers: [registry],
    });
    expect(h.series({ tier: 'main' })).toBe(h.series({ tier: 'main' }));
    expect(h.series({ tier: 'main' })).not.toBe(h.series({ tier: '10s' }));
    expect(() => h.series({} as { tier: string })).toThrow(/label tier missing/);
    expect(() => h.series({ tier: 'main' }).observe(Number.NaN)).toThrow(/not a valid number/);
    const c = new BoundCounter({ name: 'y_total', help: 'c', registers: [registry] });
    expect(() => c.series({}).inc(-1)).toThrow(RangeError);
    // Registered once under its name, as prom-client's own metrics are.
    expect(() => new BoundCounter({ name: 'y_total', help: 'c', registers: [registry] })).toThrow(
      /already been registered/,
    );
  });
});
