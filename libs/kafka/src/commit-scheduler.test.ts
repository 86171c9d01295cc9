import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type CommitOffset, CommitScheduler } from './commit-scheduler.ts';

/** A scheduler whose commits take `ms` and whose pending progress is whatever `progress` is then. */
function harness(options: { minGapMs: number; intervalMs?: number; ms?: number }) {
  let progress = 0;
  let sent = -1;
  const commits: { at: number; offset: number }[] = [];
  const scheduler = new CommitScheduler({
    intervalMs: options.intervalMs ?? 60_000,
    minGapMs: options.minGapMs,
    recommitEvery: 10,
    pending: (force) =>
      force || progress !== sent ? [{ topic: 't', partition: 0, offset: String(progress) }] : [],
    commit: async (offsets: CommitOffset[]) => {
      sent = Number(offsets[0]!.offset);
      commits.push({ at: performance.now(), offset: sent });
      await new Promise((r) => setTimeout(r, options.ms ?? 1));
    },
    onCommitted: () => {},
    onError: () => {},
  });
  return {
    scheduler,
    commits,
    complete: () => {
      progress += 1;
      scheduler.schedule();
    },
  };
}

describe('CommitScheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'setImmediate', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the first completion after a quiet spell commits at once (next tick)', async () => {
    const h = harness({ minGapMs: 100 });
    h.scheduler.start();
    h.complete();
    await vi.advanceTimersByTimeAsync(0);
    expect(h.commits.map((c) => c.offset)).toEqual([1]);
    await vi.advanceTimersByTimeAsync(5);
    await h.scheduler.stop();
  });

  // At, past and far past one commit per gap: 1, 2 and 5 000 completions spread over 2 s.
  it.each([1, 2, 5_000])(
    '%i completions commit at most once per gap, and the last progress lands',
    async (n) => {
      const h = harness({ minGapMs: 100 });
      h.scheduler.start();
      const spacing = 2_000 / n;
      for (let i = 0; i < n; i++) {
        h.complete();
        await vi.advanceTimersByTimeAsync(spacing);
      }
      await vi.advanceTimersByTimeAsync(200);
      const starts = h.commits.map((c) => c.at);
      // (the fake clock's timers fire on whole milliseconds, performance.now() has fractions)
      for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(99);
      expect(h.commits.length).toBeLessThanOrEqual(Math.min(n, 2_000 / 100 + 1));
      expect(h.commits.at(-1)?.offset).toBe(n);
      await h.scheduler.stop();
    },
  );

  it('stop commits what completed inside the gap, even with a commit in flight', async () => {
    const h = harness({ minGapMs: 100, ms: 30 });
    h.scheduler.start();
    h.complete();
    await vi.advanceTimersByTimeAsync(0); // commit of 1 in flight
    h.complete();
    h.complete(); // inside the gap: waits
    const stopped = h.scheduler.stop();
    await vi.advanceTimersByTimeAsync(100);
    await stopped;
    expect(h.commits.map((c) => c.offset)).toEqual([1, 3]);
  });

  it('with no gap every completion tick commits (one request in flight at a time)', async () => {
    const h = harness({ minGapMs: 0, ms: 5 });
    h.scheduler.start();
    for (let i = 0; i < 10; i++) {
      h.complete();
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(h.commits.length).toBe(10);
    await h.scheduler.stop();
  });
});
