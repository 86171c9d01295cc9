/**
 * The emitted-offset watermarks, pure and then through the handler: a model of the broker (committed
 * offset, committed outputs, the compacted watermark partition) with crashes at arbitrary moments
 * (between a mid-window commit and a window's end, inside an open transaction) must end with every
 * record in exactly one committed batch or dead letter.
 */
import type { Webhook } from '@hookpost/contracts';
import type { DecodeResult, EmailEvent } from '@hookpost/events';
import { fanoutMetrics } from '@hookpost/fanout';
import type { KafkaRecord, OutputRecord, PartitionControl, PartitionTx } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { createLogger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type BatcherDeps, batcherHandler, type Clock } from './handler.ts';
import { eventReader } from './inputs.ts';
import { batcherMetrics } from './metrics.ts';
import { decoded, dispatchMessage, eventDispatchMessage, onTheWire } from './test-fixtures.ts';
import { commitOffset, poisonKey, Watermarks, webhookKey } from './watermarks.ts';

describe('commitOffset', () => {
  it('is the consumed position held at the oldest open batch, never past either', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 1n << 62n }),
        fc.array(fc.bigInt({ min: 0n, max: 1n << 62n })),
        (pos, open) => {
          const firsts = open.filter((o) => o < pos);
          const low = [...firsts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[0];
          const c = commitOffset(pos, low);
          expect(c <= pos).toBe(true);
          for (const o of firsts) expect(c <= o).toBe(true);
          expect(c === pos || firsts.includes(c)).toBe(true);
        },
      ),
    );
  });
});

describe('Watermarks', () => {
  it('skips exactly the offsets at or below the last emitted one, per key; a rollback forgets the open transaction', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('0/a', '0/b', poisonKey(0)), fc.nat(1000), fc.boolean())),
        (steps) => {
          const m = new Watermarks();
          const durable = new Map<string, number>();
          let open = new Map<string, number>();
          for (const [key, offset, commit] of steps) {
            m.emitted(key, BigInt(offset));
            open.set(key, Math.max(open.get(key) ?? -1, offset));
            if (commit) {
              m.pending(0n);
              m.committed();
              for (const [k, v] of open) durable.set(k, v);
            } else if (offset % 7 === 0) {
              m.rollback();
              open = new Map(durable);
            }
          }
          for (const key of ['0/a', '0/b', poisonKey(0)])
            for (const probe of [0, 500, 1000])
              expect(m.left(key, BigInt(probe))).toBe(probe <= (open.get(key) ?? -1));
        },
      ),
    );
  });

  it('writes only changed watermarks that still matter, tombstones committed ones that no longer do, ignores other partitions', () => {
    const m = new Watermarks();
    m.load(3, webhookKey(3, 'a'), '10');
    m.load(3, webhookKey(4, 'a'), '99');
    m.load(3, webhookKey(3, 'b'), '20');
    m.load(3, webhookKey(3, 'b'), null);
    expect(m.size).toBe(1);
    m.emitted(webhookKey(3, 'c'), 30n);
    m.emitted(webhookKey(3, 'd'), 5n);
    expect(m.pending(12n)).toEqual([
      { key: '3/a', value: null },
      { key: '3/c', value: '30' },
    ]);
  });

  it('never throws on an arbitrary watermark record, and answers false exactly for those it could not have written', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.constantFrom('3/a', '3#poison', '4/a', '3/')),
        fc.option(fc.oneof(fc.string(), fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String)), {
          nil: null,
        }),
        (key, value) => {
          const m = new Watermarks();
          const mine = key.startsWith('3/') || key === poisonKey(3);
          const valid = mine && (value === null || /^\d{1,19}$/.test(value));
          expect(m.load(3, key, value)).toBe(valid);
          expect(m.size).toBe(valid && value !== null ? 1 : 0);
        },
      ),
    );
  });
});

/** The broker, as the batcher's one input partition sees it. */
interface Broker {
  log: KafkaRecord[];
  committed: number;
  outputs: OutputRecord[];
  marks: Map<string, string>;
}

/** One owner of the partition: a fresh handler that loads the watermarks and replays from the committed offset. */
async function owner(
  broker: Broker,
  hooks: Record<string, Webhook>,
  clock: ReturnType<typeof manual>,
  input?: BatcherDeps['input'],
) {
  let pending: OutputRecord[] = [];
  let position = broker.committed;
  const tx: PartitionTx = { send: async (r) => void pending.push(...r.map(onTheWire)) };
  const commit = async () => {
    const target = Number(await handler.prepareCommit!(tx, String(position)));
    for (const r of pending) {
      if (r.topic === 'marks') {
        if (r.value === null) broker.marks.delete(r.key!);
        else broker.marks.set(r.key!, String(r.value));
      } else broker.outputs.push(r);
    }
    pending = [];
    broker.committed = target;
    handler.committed!();
  };
  let alive = true;
  const control: PartitionControl = {
    topic: 'dispatch',
    partition: 0,
    commit: async (fn) => {
      if (!alive) return;
      await fn(tx);
      await commit();
    },
  };
  const handler = batcherHandler({
    webhook: (id) => hooks[id],
    topics: { batches: 'batches', dlq: 'dlq', watermarks: 'marks' },
    readWatermarks: async (_p, onRecord) => {
      for (const [k, v] of broker.marks) onRecord(k, v);
    },
    windowMs: 30_000,
    maxBytes: 1 << 20,
    maxBufferedBytes: 1 << 20,
    clock: clock.clock,
    metrics: batcherMetrics(createRegistry()),
    logger: createLogger({ name: 't', level: 'silent' }),
    input,
  })(control);
  await handler.init!(String(broker.committed));
  return {
    fetch: async (n: number) => {
      const messages = broker.log.slice(position, position + n);
      if (messages.length === 0) return;
      const decision = await handler.onMessages(messages, tx, async () => {});
      position += messages.length;
      if (decision === 'commit') await commit();
    },
    /** SIGKILL: the open transaction is lost, timers stop. */
    kill: () => {
      alive = false;
      handler.reset();
      pending = [];
    },
    done: () => position >= broker.log.length,
  };
}

function manual() {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    schedule: (fn, ms) => {
      const t = { at: now + ms, fn };
      timers.push(t);
      return () => {
        timers = timers.filter((x) => x !== t);
      };
    },
  };
  const advance = async (ms: number) => {
    now += ms;
    for (;;) {
      const due = timers.filter((x) => x.at <= now).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      timers = timers.filter((x) => x !== due);
      due.fn();
      for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    }
  };
  return { clock, advance };
}

/** The steps (fetch, time passing, SIGKILL and a new owner), then everything read and every window over. */
async function play(
  broker: Broker,
  hooks: Record<string, Webhook>,
  clock: ReturnType<typeof manual>,
  steps: ({ fetch: number } | { advance: number } | { kill: boolean })[],
  input: BatcherDeps['input'],
): Promise<void> {
  let o = await owner(broker, hooks, clock, input);
  for (const s of steps) {
    if ('fetch' in s) await o.fetch(s.fetch);
    else if ('advance' in s) await clock.advance(s.advance);
    else {
      o.kill();
      o = await owner(broker, hooks, clock, input);
    }
  }
  while (!o.done()) await o.fetch(9);
  await clock.advance(60_000);
  await clock.advance(1000);
}

/** Every output once as expected, batch ids unique, the committed offset at the log's end. */
function expectSettled(broker: Broker, got: string[], expected: string[]): void {
  expect(got.sort()).toEqual(expected.sort());
  const ids = broker.outputs.filter((r) => r.topic === 'batches').map((r) => decoded(r.value).batch_id);
  expect(new Set(ids).size).toBe(ids.length);
  expect(broker.committed).toBe(broker.log.length);
}

/** max_events of webhooks a, b and c. */
const MAXES = fc.tuple(
  fc.constantFrom(1, 3, 7, 500),
  fc.constantFrom(1, 3, 7, 500),
  fc.constantFrom(1, 3, 7, 500),
);

/** Webhooks a, b, c with those max_events and windows of 1, 5 and 60 s. */
function threeHooks(maxes: [number, number, number]): Record<string, Webhook> {
  const hooks: Record<string, Webhook> = {};
  ['a', 'b', 'c'].forEach((id, i) => {
    hooks[id] = {
      id,
      url: `https://example.com/${id}`,
      status: 'active',
      format: 'json',
      batch: { max_events: maxes[i]!, window_ms: [1000, 5000, 60_000][i]! },
    } as Webhook;
  });
  return hooks;
}

const step = fc.oneof(
  fc.record({ fetch: fc.integer({ min: 1, max: 9 }) }),
  fc.record({ advance: fc.constantFrom(50, 100, 400, 1000, 5000, 30_000) }),
  fc.constant({ kill: true }),
);

describe('batcher handler across crashes (model of the broker)', () => {
  it('every (record, webhook) lands in exactly one committed batch or dead letter, and batch ids repeat only for the same batch', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Each record: the webhooks it lists (repeats included) and its form: 0 poison, 1-3 the
        // per-webhook form for the first webhook (a replayed dead letter), else the fan-out's per-event form.
        fc.array(
          fc.tuple(
            fc.array(fc.constantFrom('a', 'b', 'c', 'gone'), { minLength: 1, maxLength: 4 }),
            fc.nat(40),
          ),
          { minLength: 1, maxLength: 60 },
        ),
        MAXES,
        fc.array(step, { maxLength: 40 }),
        async (records, maxes, steps) => {
          const hooks = threeHooks(maxes);
          const broker: Broker = {
            log: records.map(([ws, n], i) =>
              n === 0 || n <= 3 ? dispatchMessage(i, ws[0]!, n === 0) : eventDispatchMessage(i, ws),
            ),
            committed: 0,
            outputs: [],
            marks: new Map(),
          };
          const clock = manual();
          await play(broker, hooks, clock, steps, undefined);
          const got: string[] = [];
          for (const r of broker.outputs) {
            const v = decoded(r.value);
            if (r.topic === 'batches') {
              const body = JSON.parse(v.body) as { webhook_id?: string; data?: { o: number }; o?: number }[];
              expect(body).toHaveLength(v.event_ids.length);
              v.event_ids.forEach((id: string, k: number) => {
                // The body holds the event the id names, rendered for this batch's webhook.
                const p = body[k]!;
                expect(`e${p.data?.o ?? p.o}`).toBe(id);
                if (p.data) expect(p.webhook_id).toBe(v.webhook_id);
                got.push(`${v.webhook_id}/${id}`);
              });
            } else got.push(`dlq${v.source.offset}/${v.webhook_id}`);
          }
          const expected = records.flatMap(([ws, n], i) => {
            if (n === 0) return [`dlq${i}/null`];
            const targets = n <= 3 ? [ws[0]!] : [...new Set(ws)];
            return targets.map((w) => (w === 'gone' ? `dlq${i}/gone` : `${w}/e${i}`));
          });
          expectSettled(broker, got, expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('batcher reading the events itself across crashes (BATCHER_INPUT=events, same model)', () => {
  const generate = eventGenerator({
    domains: 1,
    seed: 3,
    mix: { 'activity.delivered': 1, 'activity.opened': 1 },
  });
  // s is webhook b while suspended: b's status changes between records, so b may hold an open batch
  // when one of its records is dead-lettered as suspended.
  // f has a content filter no event passes: an event only f matches leaves nothing, like a dropped one.
  const pool = ['a', 'b', 'c', 's', 'f'];
  const noTwice = (r: string[]) => (r.includes('b') ? r.filter((w) => w !== 's') : r);

  it('every (event, webhook) lands in exactly one committed batch or dead letter; poison once; the committed offset passes the events no one wants', async () => {
    await fc.assert(
      fc.asyncProperty(
        // Each record: the webhooks the table matches it to (none: dropped; s is b suspended), or poison.
        fc.array(fc.oneof(fc.subarray(pool).map(noTwice), fc.constant('poison' as const)), {
          minLength: 1,
          maxLength: 60,
        }),
        MAXES,
        fc.array(step, { maxLength: 40 }),
        async (records, maxes, steps) => {
          const hooks = threeHooks(maxes);
          const suspendedB = { ...hooks.b!, status: 'suspended' } as Webhook;
          const filtered = { ...hooks.c!, id: 'f', filter: { type: { $in: ['never'] } } } as Webhook;
          const list = records.map(() => generate());
          const broker: Broker = {
            log: records.map(
              (_r, i) =>
                ({
                  offset: String(i),
                  key: Buffer.from('d'),
                  value: Buffer.from(String(i)),
                  headers: {},
                }) as unknown as KafkaRecord,
            ),
            committed: 0,
            outputs: [],
            marks: new Map(),
          };
          let last = -1;
          const decode = async (b: Buffer | null): Promise<DecodeResult<EmailEvent>> => {
            last = Number(b!.toString());
            return records[last] === 'poison'
              ? { ok: false, reason: 'corrupt', error: 'x' }
              : { ok: true, value: list[last]!, schemaId: 1 };
          };
          const matched = () =>
            (records[last] as string[]).map((id) =>
              id === 's' ? suspendedB : id === 'f' ? filtered : hooks[id]!,
            );
          const input: BatcherDeps['input'] = (ctx) =>
            eventReader(
              { decode, match: matched, now: () => 0, fanoutMetrics: fanoutMetrics(createRegistry()) },
              ctx,
            );
          const clock = manual();
          await play(broker, hooks, clock, steps, input);
          const got: string[] = [];
          for (const r of broker.outputs) {
            const v = decoded(r.value);
            if (r.topic === 'batches') {
              const body = JSON.parse(v.body) as { webhook_id: string; data: { id: string } }[];
              expect(body).toHaveLength(v.event_ids.length);
              v.event_ids.forEach((id: string, k: number) => {
                expect(body[k]!.data.id).toBe(id);
                expect(body[k]!.webhook_id).toBe(v.webhook_id);
                got.push(`${v.webhook_id}/${id}`);
              });
            } else got.push(`dlq${v.source.offset}/${v.webhook_id}`);
          }
          const expected = records.flatMap((r, i) =>
            r === 'poison'
              ? [`dlq${i}/null`]
              : r.flatMap((w) => (w === 'f' ? [] : w === 's' ? [`dlq${i}/b`] : [`${w}/${list[i]!.id}`])),
          );
          expectSettled(broker, got, expected);
        },
      ),
      { numRuns: 300 },
    );
  });
});
