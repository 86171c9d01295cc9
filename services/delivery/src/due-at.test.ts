import { describe, expect, it } from 'vitest';
import { DUE_SKEW_MS, type DueHeaderInvalid, dueAtWithin } from './service.ts';

const now = 1_000_000;
const horizon = 60_000 * 1.1 + DUE_SKEW_MS;
const due = dueAtWithin(horizon, () => now);
const msg = (v: unknown) => ({ headers: { 'x-due-at': v } });

describe('retry due-time header', () => {
  it('keeps a due time within the horizon, at it and in the past', () => {
    expect(due(msg(Buffer.from(String(now + 5_000))))).toBe(now + 5_000);
    expect(due(msg(String(now + horizon)))).toBe(now + horizon);
    expect(due(msg(String(now - 1)))).toBe(now - 1);
  });

  it('treats a due time just past, or far past (year 3000), the horizon as due now', () => {
    expect(due(msg(String(now + horizon + 1)))).toBeNull();
    expect(due(msg(String(Date.UTC(3000, 0, 1))))).toBeNull();
    expect(due(msg('1e308'))).toBeNull();
  });

  it('treats a header that is not a number, or missing, as due now', () => {
    for (const v of ['soon', '', ' 5', '-1', '1e3', 'NaN', 'Infinity', undefined, 42, [Buffer.from('1')]])
      expect(due(msg(v))).toBeNull();
    expect(due({})).toBeNull();
  });

  it('reports each header it takes as due now, with the reason, and nothing for a good one', () => {
    const heard: DueHeaderInvalid[] = [];
    const check = dueAtWithin(
      horizon,
      () => now,
      (reason) => heard.push(reason),
    );
    check(msg(String(now + 5_000)));
    check(msg(String(now - 1)));
    expect(heard).toEqual([]);
    check(msg(String(now + horizon + 1)));
    check(msg('soon'));
    check({});
    check(msg('1e308'));
    expect(heard).toEqual(['beyond_horizon', 'not_a_number', 'not_a_number', 'not_a_number']);
  });
});
