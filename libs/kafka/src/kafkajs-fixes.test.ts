import { describe, expect, it } from 'vitest';
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
