import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { endpointKey, KeyedLimiter } from './limiter.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

describe('KeyedLimiter', () => {
  it('bounds concurrency per key and lets other keys through', async () => {
    const l = new KeyedLimiter(2);
    const gates = [deferred(), deferred(), deferred()];
    const started: number[] = [];
    const runs = gates.map((g, i) =>
      l.run('a', async () => {
        started.push(i);
        await g.promise;
      }),
    );
    let other = false;
    const b = l.run('b', async () => {
      other = true;
    });
    await b;
    await new Promise((r) => setImmediate(r));
    expect(other).toBe(true);
    expect(started).toEqual([0, 1]);
    expect(l.active('a')).toBe(2);
    gates[0]!.resolve();
    await runs[0];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]);
    expect(l.active('a')).toBe(2);
    gates[1]!.resolve();
    gates[2]!.resolve();
    await Promise.all(runs);
    expect(l.active('a')).toBe(0);
    expect(l.total).toBe(0);
  });

  it('releases the slot when a task throws', async () => {
    const l = new KeyedLimiter(1);
    await expect(l.run('a', async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await l.run('a', async () => 7)).toBe(7);
  });

  it('keys endpoints by origin', () => {
    expect(endpointKey('https://Example.com:443/a?b=1')).toBe('https://example.com');
    expect(endpointKey('http://127.0.0.1:8080/x')).toBe('http://127.0.0.1:8080');
    expect(endpointKey('nope')).toBe('invalid');
  });

  it('suspect webhooks share at most half the slots, one each; healthy tasks take freed slots first', async () => {
    const limiter = new KeyedLimiter(8);
    const started: string[] = [];
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const task = (name: string, suspect?: string) => {
      const d = deferred();
      gates.set(name, d);
      return limiter.run(
        'o',
        async () => {
          started.push(name);
          await d.promise;
        },
        suspect,
        suspect !== undefined,
      );
    };
    // Ten hanging suspects, two tasks each, then 20 healthy tasks.
    const all: Promise<void>[] = [];
    for (let h = 0; h < 10; h++) all.push(task(`h${h}a`, `h${h}`), task(`h${h}b`, `h${h}`));
    for (let n = 0; n < 20; n++) all.push(task(`n${n}`));
    await new Promise((r) => setImmediate(r));
    expect(started.filter((x) => x.startsWith('h'))).toEqual(['h0a', 'h1a', 'h2a', 'h3a']);
    expect(started.filter((x) => x.startsWith('n'))).toEqual(['n0', 'n1', 'n2', 'n3']);
    // A healthy task ends: the next healthy one takes its slot, not a waiting suspect.
    gates.get('n0')!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started.at(-1)).toBe('n4');
    // A suspect ends: its slot goes to a healthy task waiting (healthy first), the suspect lane stays at 3.
    gates.get('h0a')!.resolve();
    await new Promise((r) => setImmediate(r));
    expect(started.at(-1)).toBe('n5');
    expect(limiter.active('o')).toBe(8);
    for (const [, d] of gates) d.resolve();
    // Everything runs in the end, released as they finish.
    for (let i = 0; i < 40 && started.length < 40; i++) {
      await new Promise((r) => setImmediate(r));
      for (const [, d] of gates) d.resolve();
    }
    await Promise.all(all);
    expect(started).toHaveLength(40);
    expect(limiter.active('o')).toBe(0);
  });

  it('property: never over the limit, the suspect share or one per suspect webhook; nothing starves', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }), {
          minLength: 1,
          maxLength: 300,
        }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 50 }),
        async (limit, kinds, order) => {
          const limiter = new KeyedLimiter(limit);
          const share = Math.max(1, Math.floor(limit / 2));
          const running = new Map<number, string | undefined>();
          const waiting = new Map<number, () => void>();
          let done = 0;
          const runs = kinds.map((k, i) => {
            const suspect = k === undefined ? undefined : `s${k}`;
            return limiter.run(
              'o',
              () =>
                new Promise<void>((resolve) => {
                  running.set(i, suspect);
                  const suspects = [...running.values()].filter((x) => x !== undefined);
                  expect(running.size).toBeLessThanOrEqual(limit);
                  expect(suspects.length).toBeLessThanOrEqual(share);
                  expect(new Set(suspects).size).toBe(suspects.length);
                  waiting.set(i, () => {
                    running.delete(i);
                    done++;
                    resolve();
                  });
                }),
              suspect,
              suspect !== undefined,
            );
          });
          // Finish running tasks in an arbitrary order until all are done.
          for (let step = 0; done < kinds.length; step++) {
            await new Promise((r) => setImmediate(r));
            const ids = [...waiting.keys()];
            expect(ids.length, 'something runs while work waits').toBeGreaterThan(0);
            const id = ids[order[step % order.length]! % ids.length]!;
            const finish = waiting.get(id)!;
            waiting.delete(id);
            finish();
          }
          await Promise.all(runs);
          expect(limiter.active('o')).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  describe('slow tasks (a webhook that starts hanging before anything failed)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const slow = { floorMs: 250, factor: 4 };

    /** Tasks on origin 'o' that start, and wait on their own gate; `started` in start order. */
    function tasks(limiter: KeyedLimiter) {
      const started: string[] = [];
      const gates = new Map<string, ReturnType<typeof deferred>>();
      const runs: Promise<void>[] = [];
      const task = (name: string, webhook: string, suspect = false) => {
        const d = deferred();
        gates.set(name, d);
        runs.push(
          limiter.run(
            'o',
            async () => {
              started.push(name);
              await d.promise;
            },
            webhook,
            suspect,
          ),
        );
      };
      const end = (name: string) => gates.get(name)!.resolve();
      const endAll = async () => {
        for (const [, d] of gates) d.resolve();
        await Promise.all(runs);
      };
      return { started, task, end, endAll };
    }

    it('a task past the threshold frees its slot, up to cap − limit slow ones; then tasks keep their slots until one ends', async () => {
      vi.useFakeTimers();
      // Limit 1, cap 3: two may be slow at once.
      const limiter = new KeyedLimiter(1, { slow, cap: 3 });
      const t = tasks(limiter);
      for (const name of ['h1', 'h2', 'h3', 'h4', 'n1']) t.task(name, name);
      await vi.advanceTimersByTimeAsync(249);
      expect(t.started).toEqual(['h1']);
      await vi.advanceTimersByTimeAsync(1);
      expect(t.started).toEqual(['h1', 'h2']);
      expect(limiter.isSlow('o', 'h1')).toBe(true);
      await vi.advanceTimersByTimeAsync(250);
      expect(t.started).toEqual(['h1', 'h2', 'h3']);
      // Two slow (h1, h2): h3 past the threshold keeps its slot, n1 waits.
      await vi.advanceTimersByTimeAsync(1_000);
      expect(t.started).toEqual(['h1', 'h2', 'h3']);
      expect(limiter.isSlow('o', 'h3')).toBe(false);
      expect(limiter.active('o')).toBe(3);
      // h1 ends: h3 (overdue) becomes slow at once and h4 takes its slot.
      t.end('h1');
      await vi.advanceTimersByTimeAsync(0);
      expect(limiter.isSlow('o', 'h3')).toBe(true);
      expect(t.started).toEqual(['h1', 'h2', 'h3', 'h4']);
      expect(limiter.active('o')).toBe(3);
      await t.endAll();
      expect(t.started).toEqual(['h1', 'h2', 'h3', 'h4', 'n1']);
      expect(limiter.total).toBe(0);
    });

    it("a suspect's task past the threshold leaves the share", async () => {
      vi.useFakeTimers();
      const limiter = new KeyedLimiter(2, { slow });
      const t = tasks(limiter);
      // Share of one: a1 runs, b1 waits for the share.
      t.task('a1', 'a', true);
      t.task('b1', 'b', true);
      await vi.advanceTimersByTimeAsync(249);
      expect(t.started).toEqual(['a1']);
      await vi.advanceTimersByTimeAsync(1);
      expect(t.started).toEqual(['a1', 'b1']);
      expect(limiter.isSlow('o', 'a')).toBe(true);
      expect(limiter.isSlow('o', 'b')).toBe(false);
      await t.endAll();
      expect(limiter.total).toBe(0);
    });

    /** A held task of 'w' in a one-slot limiter, and one of 'x' behind it; `second()`: has x started? */
    function heldAndNext(limiter: KeyedLimiter) {
      const d = deferred();
      const first = limiter.run('o', () => d.promise, 'w');
      let started = false;
      const next = limiter.run(
        'o',
        async () => {
          started = true;
        },
        'x',
      );
      const end = () => {
        d.resolve();
        return Promise.all([first, next]);
      };
      return { second: () => started, end };
    }

    it("the threshold follows the origin's successful latency (factor × average, floor at least)", async () => {
      vi.useFakeTimers();
      const limiter = new KeyedLimiter(1, { slow });
      for (let i = 0; i < 200; i++) limiter.observe('o', 1_000);
      const t = heldAndNext(limiter);
      await vi.advanceTimersByTimeAsync(3_999);
      expect(t.second()).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(t.second()).toBe(true);
      await t.end();
    });

    it('without the slow policy a task holds its slot however long it runs', async () => {
      vi.useFakeTimers();
      const t = heldAndNext(new KeyedLimiter(1));
      await vi.advanceTimersByTimeAsync(60_000);
      expect(t.second()).toBe(false);
      await t.end();
      expect(t.second()).toBe(true);
    });

    it('property: all tasks within the cap, suspects not slow within the share and one each; nothing starves', async () => {
      vi.useFakeTimers();
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 10 }),
          fc.array(fc.record({ webhook: fc.integer({ min: 0, max: 6 }), suspect: fc.boolean() }), {
            minLength: 1,
            maxLength: 300,
          }),
          fc.array(fc.oneof(fc.nat(), fc.constant(-1)), { minLength: 1, maxLength: 50 }),
          async (limit, kinds, order) => {
            const limiter = new KeyedLimiter(limit, { slow });
            const share = Math.max(1, Math.floor(limit / 2));
            const running = new Map<number, string>();
            /** Suspect webhook → its suspect tasks running. */
            const suspects = new Map<string, number>();
            const waiting = new Map<number, () => void>();
            let done = 0;
            const runs = kinds.map((k, i) =>
              limiter.run(
                'o',
                () =>
                  new Promise<void>((resolve) => {
                    running.set(i, `w${k.webhook}`);
                    expect(running.size).toBeLessThanOrEqual(2 * limit);
                    if (k.suspect) {
                      // One per suspect webhook and the share hold for suspects not yet slow.
                      const w = `w${k.webhook}`;
                      if (!limiter.isSlow('o', w))
                        expect(suspects.get(w) ?? 0, 'one task per suspect webhook').toBe(0);
                      suspects.set(w, (suspects.get(w) ?? 0) + 1);
                      const inShare = [...suspects.keys()].filter((x) => !limiter.isSlow('o', x));
                      expect(inShare.length).toBeLessThanOrEqual(share);
                    }
                    waiting.set(i, () => {
                      running.delete(i);
                      const w = `w${k.webhook}`;
                      if (k.suspect && suspects.get(w) === 1) suspects.delete(w);
                      else if (k.suspect) suspects.set(w, suspects.get(w)! - 1);
                      done++;
                      resolve();
                    });
                  }),
                `w${k.webhook}`,
                k.suspect,
              ),
            );
            // Finish tasks in an arbitrary order; at -1 first let time pass so running ones turn slow.
            for (let step = 0; done < kinds.length; step++) {
              await vi.advanceTimersByTimeAsync(0);
              const ids = [...waiting.keys()];
              expect(ids.length, 'something runs while work waits').toBeGreaterThan(0);
              const pick = order[step % order.length]!;
              if (pick === -1) await vi.advanceTimersByTimeAsync(300);
              const live = [...waiting.keys()];
              const id = live[Math.max(0, pick) % live.length]!;
              const finish = waiting.get(id)!;
              waiting.delete(id);
              finish();
            }
            await Promise.all(runs);
            expect(limiter.active('o')).toBe(0);
          },
        ),
        { numRuns: 100 },
      );
    });
  });
});
