import { describe, expect, it } from 'vitest';
import { formatDuration, parseRate, parseReasons, parseTime, progressLine, UsageError } from './args.ts';

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
});
