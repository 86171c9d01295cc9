import { createRequire } from 'node:module';
import { describe, expect, it, vi } from 'vitest';
import { filterAbortedMessages } from './kafkajs-fixes.ts';

const rec = (offset: number, producerId: string, inTransaction = true) => ({
  offset: String(offset),
  key: Buffer.from('k'),
  isControlRecord: false,
  batchContext: { producerId, inTransaction },
});
const abortMarker = (offset: number, producerId: string) => ({
  offset: String(offset),
  key: Buffer.from([0, 0, 0, 0]),
  isControlRecord: true,
  batchContext: { producerId, inTransaction: true },
});

describe('filterAbortedMessages (read_committed)', () => {
  it('drops a second producer’s aborted records when the fetch starts inside both aborted transactions', () => {
    // P1 aborted from offset 0, P2 aborted from offset 1; the fetch starts at 3 (a record of P2).
    const messages = [
      rec(3, 'P2'),
      rec(4, 'P1'),
      abortMarker(5, 'P1'),
      abortMarker(6, 'P2'),
      rec(7, 'P3', false),
    ];
    const kept = filterAbortedMessages({
      messages,
      abortedTransactions: [
        { producerId: 'P2', firstOffset: '1' },
        { producerId: 'P1', firstOffset: '0' },
      ],
    });
    expect(kept.filter((m) => !m.isControlRecord).map((m) => m.offset)).toEqual(['7']);
  });

  it('keeps a producer’s committed records after its abort marker, and other producers’ records', () => {
    const messages = [rec(10, 'P1'), rec(11, 'P2'), abortMarker(12, 'P1'), rec(13, 'P1'), rec(14, 'P2')];
    const kept = filterAbortedMessages({
      messages,
      abortedTransactions: [{ producerId: 'P1', firstOffset: '10' }],
    });
    expect(kept.filter((m) => !m.isControlRecord).map((m) => m.offset)).toEqual(['11', '13', '14']);
  });

  it('passes everything through when nothing was aborted', () => {
    const messages = [rec(1, 'P1'), rec(2, 'P2')];
    expect(filterAbortedMessages({ messages, abortedTransactions: [] })).toBe(messages);
  });
});

describe("KafkaJS's request queue when idle", () => {
  // biome-ignore lint/suspicious/noExplicitAny: KafkaJS's untyped internals
  const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as any;
  const queue = () =>
    new RequestQueue({
      maxInFlightRequests: 1,
      requestTimeout: 30_000,
      enforceRequestTimeout: false,
      clientId: 't',
      broker: 'b',
      logger: { debug: () => {}, warn: () => {} },
    });
  const request = (correlationId: number, sent: number[]) => ({
    entry: {
      correlationId,
      apiKey: 0,
      apiName: 'Produce',
      apiVersion: 3,
      resolve: () => {},
      reject: () => {},
    },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  });

  it('arms no timer with nothing pending, however many responses come back', () => {
    vi.useFakeTimers();
    try {
      const q = queue();
      const sent: number[] = [];
      for (let i = 1; i <= 1000; i++) {
        q.push(request(i, sent));
        q.fulfillRequest({ correlationId: i, payload: Buffer.alloc(0), size: 0 });
      }
      expect(sent.length).toBe(1000);
      // KafkaJS's own re-armed a 1 ms timer here for ever: 1 000 wake-ups in the next second.
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends a request held by the in-flight limit or a throttle, marginal or not, once it may', () => {
    vi.useFakeTimers();
    try {
      const q = queue();
      const sent: number[] = [];
      q.push(request(1, sent));
      q.push(request(2, sent)); // held: one in flight at most
      expect(sent).toEqual([1]);
      q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
      expect(sent).toEqual([1, 2]);
      q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
      for (const throttleMs of [1, 50, 5_000]) {
        q.maybeThrottle(throttleMs);
        const id = 10 + throttleMs;
        q.push(request(id, sent));
        expect(sent).not.toContain(id);
        vi.advanceTimersByTime(throttleMs + 10);
        expect(sent).toContain(id);
        q.fulfillRequest({ correlationId: id, payload: Buffer.alloc(0), size: 0 });
      }
      // The kafkajs#1532 case: the throttle ends as the request is queued; the 10 ms check sends it.
      q.throttledUntil = Date.now() + 1;
      q.push(request(99, sent));
      vi.setSystemTime(Date.now() + 1);
      vi.advanceTimersByTime(10);
      expect(sent).toContain(99);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});
