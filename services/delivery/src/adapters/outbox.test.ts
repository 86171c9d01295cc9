import type { Kafka, Message } from '@hookpost/kafka';
import { describe, expect, it, vi } from 'vitest';
import { Outbox } from './outbox.ts';

/** A producer that records each sendBatch and answers after `ms` (a broker round trip). */
function fakeProducer(ms = 1, fail = () => false) {
  const sends: { topic: string; messages: Message[] }[][] = [];
  return {
    sends,
    producer: {
      producer: { connect: async () => {} },
      disconnect: async () => {},
      sendBatch: async (batch: { topic: string; messages: Message[] }[]) => {
        sends.push(batch);
        await new Promise((r) => setTimeout(r, ms));
        if (fail()) throw new Error('broker said no');
        return [];
      },
    },
  };
}

const outcome = (i: number) => [
  { topic: i % 2 ? 'attempts' : 'dlq', messages: [{ key: 'w', value: String(i) }] },
];
const kafka = {} as Kafka;

describe('delivery outbox', () => {
  it('groups outcomes that arrive within the linger into one produce request, per topic, in order', async () => {
    const f = fakeProducer();
    const box = new Outbox({ kafka, producer: f.producer, lingerMs: 5 });
    // At, past and far past one request's cap (200): 200, 201 and 2 000 outcomes sent at once.
    for (const n of [200, 201, 2000]) {
      f.sends.length = 0;
      await Promise.all(Array.from({ length: n }, (_, i) => box.send(outcome(i))));
      expect(f.sends.length).toBe(Math.ceil(n / 200));
      const values = (topic: string) =>
        f.sends.flatMap((b) =>
          b.filter((t) => t.topic === topic).flatMap((t) => t.messages.map((m) => m.value)),
        );
      const all = Array.from({ length: n }, (_, i) => String(i));
      expect(values('attempts')).toEqual(all.filter((_, i) => i % 2));
      expect(values('dlq')).toEqual(all.filter((_, i) => i % 2 === 0));
    }
    await box.close();
  });

  it('an outcome finding the producer idle waits only the linger; one queued while a send runs goes next', async () => {
    const f = fakeProducer(20);
    const box = new Outbox({ kafka, producer: f.producer, lingerMs: 5 });
    const first = box.send(outcome(1));
    await expect.poll(() => f.sends.length).toBe(1);
    const second = box.send(outcome(2));
    const third = box.send(outcome(3));
    await Promise.all([first, second, third]);
    // The two that waited behind the running send shared the next request.
    expect(f.sends.map((b) => b.flatMap((t) => t.messages.map((m) => m.value)))).toEqual([['1'], ['2', '3']]);
    await box.close();
  });

  it('under steady load sends start at least the linger apart, so each carries many outcomes', async () => {
    // Fake clock: the property is the outbox's, not the machine's (a busy machine once made the real
    // timers of this test fire late and early).
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    try {
      const f = fakeProducer(1);
      const starts: number[] = [];
      const send = f.producer.sendBatch;
      f.producer.sendBatch = (batch) => {
        starts.push(performance.now());
        return send(batch);
      };
      // No request fills up here: a full one goes at once, whatever the gap (first test).
      const box = new Outbox({ kafka, producer: f.producer, lingerMs: 10, maxPerSend: 100_000 });
      // 2 000 outcomes, four every 1 ms (4 000/s against a 1 ms round trip): 500 ms of load.
      const done: Promise<void>[] = [];
      for (let i = 0; i < 2000; i++) {
        done.push(box.send(outcome(i)));
        if (i % 4 === 3) await vi.advanceTimersByTimeAsync(1);
      }
      await vi.advanceTimersByTimeAsync(100);
      await Promise.all(done);
      for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(10);
      const sent = f.sends.flatMap((b) => b.flatMap((t) => t.messages.map((m) => Number(m.value))));
      expect(sent.sort((a, b) => a - b)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
      // 500 ms at one start per 10 ms (plus the 1 ms round trip): about 46 requests of ~44 outcomes.
      expect(f.sends.length).toBeLessThanOrEqual(51);
      expect(f.sends.length).toBeGreaterThanOrEqual(40);
      const closing = box.close();
      await vi.advanceTimersByTimeAsync(20);
      await closing;
    } finally {
      vi.useRealTimers();
    }
  });

  it('rejects every outcome of a failed request, and the next ones still go', async () => {
    let failing = true;
    const f = fakeProducer(1, () => failing);
    const box = new Outbox({ kafka, producer: f.producer, lingerMs: 5 });
    const results = await Promise.allSettled([box.send(outcome(1)), box.send(outcome(2))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    failing = false;
    await expect(box.send(outcome(3))).resolves.toBeUndefined();
    await box.close();
  });

  it('close sends what is lingering before it disconnects', async () => {
    const f = fakeProducer();
    const box = new Outbox({ kafka, producer: f.producer, lingerMs: 60_000 });
    const sent = box.send(outcome(1));
    await box.close();
    await expect(sent).resolves.toBeUndefined();
    expect(f.sends.length).toBe(1);
  });
});
