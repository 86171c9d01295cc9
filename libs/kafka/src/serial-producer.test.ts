import type { Producer } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { SerialProducer } from './serial-producer.ts';

describe('SerialProducer', () => {
  it('never has two sends in flight, and a failed send does not block the next', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const fake = {
      send: async () => {
        calls += 1;
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setImmediate(r));
        inFlight -= 1;
        if (calls === 2) throw new Error('boom');
        return [];
      },
    } as unknown as Producer;
    const p = new SerialProducer(fake);
    const results = await Promise.allSettled([1, 2, 3, 4].map(() => p.send('t', [{ value: 'x' }])));
    expect(maxInFlight).toBe(1);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
  });
});
