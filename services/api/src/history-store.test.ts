import type { AttemptRecord } from '@hookpost/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HistoryStore, statusClass } from './history-store.ts';

function attempt(over: Partial<AttemptRecord>): AttemptRecord {
  return {
    webhook_id: 'wh1',
    batch_id: 'b1',
    attempt: 1,
    tier: 'main',
    at: 1_000,
    status: 200,
    latency_ms: 5,
    outcome: 'delivered',
    error: null,
    response_excerpt: 'ok',
    event_count: 3,
    ...over,
  };
}

describe('history store', () => {
  it('classifies statuses, filters by class and time, newest first, and pages', () => {
    const store = new HistoryStore(':memory:');
    store.apply('t', 0, 3, [
      { offset: 0, record: attempt({ at: 1_000, status: 200 }) },
      { offset: 1, record: attempt({ at: 2_000, status: 500, outcome: 'retry' }) },
      { offset: 2, record: attempt({ at: 3_000, status: null, error: 'ECONNRESET' }) },
      { offset: 3, record: attempt({ at: 4_000, status: 404, webhook_id: 'other' }) },
    ]);
    expect(store.query({ webhookId: 'wh1', limit: 10, offset: 0 }).rows.map((r) => r.at)).toEqual([
      3_000, 2_000, 1_000,
    ]);
    expect(store.query({ webhookId: 'wh1', statusClass: 'error', limit: 10, offset: 0 }).total).toBe(1);
    expect(store.query({ webhookId: 'wh1', from: 2_000, to: 3_000, limit: 10, offset: 0 }).rows).toHaveLength(
      1,
    );
    const page = store.query({ webhookId: 'wh1', limit: 1, offset: 1 });
    expect(page.total).toBe(3);
    expect(page.rows[0]?.at).toBe(2_000);
    expect(statusClass(302)).toBe('3xx');
  });

  it('applies a record read twice once, keeps the highest offset, and prunes old rows', () => {
    const store = new HistoryStore(':memory:');
    store.apply('t', 1, 5, [{ offset: 5, record: attempt({}) }]);
    store.apply('t', 1, 5, [{ offset: 5, record: attempt({}) }]);
    store.apply('t', 1, 2, []);
    expect(store.offsets('t').get(1)).toBe(5);
    expect(store.query({ webhookId: 'wh1', limit: 10, offset: 0 }).total).toBe(1);
    expect(store.prune(1_001)).toBe(1);
    expect(store.query({ webhookId: 'wh1', limit: 10, offset: 0 }).total).toBe(0);
  });

  it('reports 24 h figures: attempts, 2xx share, nearest-rank p95 and the newest attempt', () => {
    const store = new HistoryStore(':memory:');
    expect(store.stats(0, 'wh1')).toEqual({ attempts: 0, delivered: 0, p95LatencyMs: null, last: null });
    store.apply('t', 0, 3, [
      { offset: 0, record: attempt({ at: 500, latency_ms: 1_000 }) },
      { offset: 1, record: attempt({ at: 1_000, latency_ms: 10 }) },
      { offset: 2, record: attempt({ at: 2_000, status: 503, latency_ms: 30, outcome: 'retry' }) },
      { offset: 3, record: attempt({ at: 3_000, webhook_id: 'other', latency_ms: 99 }) },
    ]);
    const s = store.stats(1_000, 'wh1');
    expect(s).toMatchObject({ attempts: 2, delivered: 1, p95LatencyMs: 30 });
    expect(s.last).toMatchObject({ at: 2_000, status: 503 });
    expect(store.stats(1_000)).toMatchObject({ attempts: 3, delivered: 2, p95LatencyMs: 99, last: null });
  });

  it('p95 is the nearest-rank percentile of any set of latencies', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 120_000 }), { minLength: 1, maxLength: 300 }), (ls) => {
        const store = new HistoryStore(':memory:');
        store.apply(
          't',
          0,
          ls.length - 1,
          ls.map((latency_ms, offset) => ({ offset, record: attempt({ latency_ms, at: 10 }) })),
        );
        const sorted = [...ls].sort((a, b) => a - b);
        expect(store.stats(0, 'wh1').p95LatencyMs).toBe(sorted[Math.ceil(ls.length * 0.95) - 1]);
        store.close();
      }),
      { numRuns: 50 },
    );
  });
});
