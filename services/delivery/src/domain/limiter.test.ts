import { describe, expect, it } from 'vitest';
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
});
