import type { Webhook } from '@hookpost/contracts';
import { type DecodeResult, type EmailEvent, EVENT_TYPES } from '@hookpost/events';
import { fanOut, fanoutMetrics } from '@hookpost/fanout';
import type { KafkaRecord, OutputRecord, PartitionControl } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { createLogger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dispatchReader, eventReader, type InputRead, type InputReader } from './inputs.ts';
import { batcherMetrics } from './metrics.ts';

const logger = createLogger({ name: 't', level: 'silent' });
const control = (topic: string): PartitionControl => ({ topic, partition: 4, commit: async () => {} });
const hook = (id: string, status: Webhook['status'] = 'active', filter?: Webhook['filter']): Webhook =>
  ({ id, url: `https://example.com/${id}`, status, format: 'json', filter }) as Webhook;
const record = (offset: number, value: Buffer | null): KafkaRecord =>
  ({ offset: String(offset), key: Buffer.from('dom-0'), value, headers: {} }) as unknown as KafkaRecord;

/**
 * A fake decoder over `list` (a record's value is its event's index; `poison` indexes fail as bad
 * magic) and a match that answers `webhooks` of the event decoded last, as the table would.
 */
function events(list: EmailEvent[], webhooks: (i: number) => Webhook[], poison = new Set<number>()) {
  const registry = createRegistry();
  let last = -1;
  const decode = async (b: Buffer | null): Promise<DecodeResult<EmailEvent>> => {
    last = Number(b?.toString());
    return poison.has(last)
      ? { ok: false, reason: 'bad-magic', error: 'not Avro' }
      : { ok: true, value: list[last]!, schemaId: 1 };
  };
  const match = () => webhooks(last);
  const reader = eventReader(
    { decode, match, now: () => 42, fanoutMetrics: fanoutMetrics(registry) },
    { control: control('events'), log: logger },
  );
  return { registry, decode, match, reader };
}

type Flat =
  | { kind: 'none' }
  | { kind: 'letter'; record: unknown }
  | {
      kind: 'targets';
      eventId: string;
      targets: { id: string; entry: string; bytes: number; record: unknown }[];
      suspended: { id: string; record: unknown }[];
    };

/** What a read comes to, as comparable values: entries' bytes, records, letters' records. */
function flat(read: InputRead): Flat {
  if (read.kind === 'none') return { kind: 'none' };
  if (read.kind === 'letter') return { kind: 'letter', record: read.letter().record };
  return {
    kind: 'targets',
    eventId: read.eventId,
    targets: read.targets.map((t) => ({
      id: t.id,
      entry: t.entry().chunks.join(''),
      bytes: t.entry().bytes,
      record: t.record(),
    })),
    suspended: read.suspended.map((s) => ({ id: s.id, record: s.letter().record })),
  };
}

const generate = eventGenerator({
  domains: 1,
  seed: 9,
  mix: Object.fromEntries(EVENT_TYPES.map((t) => [t, 1])),
  now: () => 1_764_000_000_123,
});

describe('eventReader (BATCHER_INPUT=events)', () => {
  it("gives each webhook byte for byte the payload the fan-out's record gives it through the dispatch reader, and the fan-out's dead letters", async () => {
    const pool = [
      hook('a'),
      hook('b'),
      hook('s', 'suspended'),
      hook('f', 'active', { type: { $in: ['activity.never'] } }),
    ];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.subarray(pool), { minLength: 1, maxLength: 30 }),
        fc.array(fc.boolean(), { minLength: 30, maxLength: 30 }),
        async (matches, poisonFlags) => {
          const list = matches.map(() => generate());
          const poison = new Set(poisonFlags.flatMap((p, i) => (p && i < list.length ? [i] : [])));
          const ev = events(list, (i) => matches[i]!, poison);
          const dispatch = dispatchReader({
            control: control('dispatch'),
            metrics: batcherMetrics(createRegistry()),
            log: logger,
          });
          for (let i = 0; i < list.length; i += 1) {
            const m = record(i, Buffer.from(String(i)));
            const ours = flat(await ev.reader(m, 42));
            // The fan-out on the same record, its dispatch record read as the dispatch batcher reads it.
            const out = await fanOut({ topic: 'events', partition: 4 }, m, {
              decode: ev.decode,
              match: ev.match,
              topics: { dispatch: 'dispatch', dlq: 'dlq' },
              now: () => 42,
            });
            const letters = out.records.filter((r: OutputRecord) => r.topic === 'dlq');
            const disp = out.records.find((r: OutputRecord) => r.topic === 'dispatch');
            // Dropped, or every webhook's filter refused it: nothing for anyone.
            if (out.kind === 'dropped' || (out.kind === 'matched' && out.records.length === 0))
              expect(ours).toEqual({ kind: 'none' });
            else if (out.kind !== 'matched') {
              expect(ours).toMatchObject({ kind: 'letter' });
              expect((ours as { record: unknown }).record).toEqual({
                key: letters[0]!.key,
                value: letters[0]!.value,
                headers: letters[0]!.headers,
              });
            } else {
              const theirs = disp ? flat(await dispatch(record(i, disp.value as Buffer), 42)) : undefined;
              if (ours.kind !== 'targets') throw new Error(`expected targets, got ${ours.kind}`);
              const o = ours;
              expect(o.targets.map((t) => t.entry)).toEqual(
                theirs?.kind === 'targets' ? theirs.targets.map((t) => t.entry) : [],
              );
              expect(o.targets.map((t) => t.bytes)).toEqual(o.targets.map((t) => Buffer.byteLength(t.entry)));
              expect(o.suspended.map((s) => s.record)).toEqual(
                letters.map((l) => ({ key: l.key, value: l.value, headers: l.headers })),
              );
              expect(o.targets.map((t) => t.id).sort()).toEqual(
                matches[i]!.filter((w) => w.status === 'active' && !w.filter)
                  .map((w) => w.id)
                  .sort(),
              );
            }
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it("counts on the fan-out's counters: consumed, matched, dropped, dispatched, suspended, filtered, poison", async () => {
    const list = [generate(), generate(), generate()];
    const ev = events(list, (i) => (i === 0 ? [hook('a'), hook('s', 'suspended')] : []), new Set([2]));
    const read: InputReader = ev.reader;
    for (let i = 0; i < 3; i += 1) {
      const r = await read(record(i, Buffer.from(String(i))), 42);
      if (r.kind === 'letter') r.letter();
    }
    const text = await ev.registry.metrics();
    for (const [name, value] of [
      ['webhooks_fanout_events_consumed_total', 3],
      ['webhooks_fanout_events_matched_total', 1],
      ['webhooks_fanout_events_dropped_total', 1],
      ['webhooks_fanout_dispatched_total', 1],
      ['webhooks_fanout_suspended_total', 1],
      ['webhooks_fanout_poison_total{reason="bad-magic"}', 1],
    ] as const)
      expect(text).toContain(`${name} ${value}`);
  });
});
