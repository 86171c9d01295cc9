import { describe, expect, it } from 'vitest';
import {
  count,
  formatDuration,
  parseRate,
  parseReasons,
  parseTime,
  progressLine,
  UsageError,
} from './args.ts';

const now = Date.parse('2026-11-26T12:00:00Z');

describe('CLI option values', () => {
  it('reads ISO times, now, and durations ago', () => {
    expect(parseTime('2026-11-25T10:00:00Z', now, '--from')).toBe(Date.parse('2026-11-25T10:00:00Z'));
    expect(parseTime('now', now, '--to')).toBe(now);
    expect(parseTime('24h', now, '--from')).toBe(now - 86_400_000);
    expect(parseTime('90m', now, '--from')).toBe(now - 5_400_000);
    expect(() => parseTime('yesterday', now, '--from')).toThrow(UsageError);
    expect(() => parseTime('yesterday', now, '--from')).toThrow(/--from/);
  });

  it('reads rates and reasons, refusing anything else by name', () => {
    expect(parseRate('50/s')).toBe(50);
    expect(parseRate('2.5')).toBe(2.5);
    expect(() => parseRate('fast')).toThrow(/--rate/);
    expect(parseReasons(['exhausted,gone'])).toEqual(['exhausted', 'gone']);
    expect(() => parseReasons(['tired'])).toThrow(/tired/);
  });

  it('draws the progress bar with counts, rate and ETA', () => {
    expect(progressLine({ done: 5, total: 10, elapsedMs: 1000, etaMs: 1000 }, 10)).toBe(
      '[#####.....] 5/10  5.0/s  ETA 1s',
    );
    expect(progressLine({ done: 0, total: 0, elapsedMs: 0, etaMs: null }, 4)).toBe(
      '[####] 0/0  0.0/s  ETA ?',
    );
    expect(formatDuration(3_725_000)).toBe('1h02m');
  });

  it('counts in words: one noun, or its plural', () => {
    expect(count(0, 'event')).toBe('0 events');
    expect(count(1, 'event')).toBe('1 event');
    expect(count(2, 'dead letter')).toBe('2 dead letters');
    expect(count(1, 'webhook', 'webhooks')).toBe('1 webhook');
  });

  it('formats durations with one unit per figure, at every boundary', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [-5, '0s'],
      [1, '<1s'],
      [999, '<1s'],
      [1_000, '1s'],
      [3_000, '3s'],
      [59_999, '59s'],
      [60_000, '1m00s'],
      [61_000, '1m01s'],
      [3_599_000, '59m59s'],
      [3_599_999, '59m59s'],
      [3_600_000, '1h00m'],
      [86_399_000, '23h59m'],
      [86_400_000, '1d00h'],
      [3 * 86_400_000 + 5 * 3_600_000, '3d05h'],
      [Number.POSITIVE_INFINITY, '?'],
      [Number.NaN, '?'],
    ];
    for (const [ms, text] of cases) expect(formatDuration(ms), String(ms)).toBe(text);
    // Never a doubled unit like "3ss".
    for (let ms = 0; ms < 200_000_000; ms += 997_003) expect(formatDuration(ms)).not.toMatch(/([a-z])\1/);
  });
});
