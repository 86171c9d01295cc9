import {
  batchIdOf,
  deadLetterHeaders,
  type EventDispatchRecord,
  parseBatchRecord,
  parseDeadLetter,
  parseDispatchInput,
  payloadText,
  type Webhook,
} from '@hookpost/contracts';
import { type DecodeResult, type EmailEvent, EVENT_TYPES } from '@hookpost/events';
import type { KafkaRecord } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FanoutDeps, fanOut } from './fanout.ts';
import { envelope, isoMicros, renderData } from './render.ts';

const event = eventGenerator({ domains: 1, seed: 1, mix: { 'activity.delivered': 1 } })();
const msg = (value: string): KafkaRecord =>
  ({
    offset: '7',
    key: Buffer.from('k'),
    value: Buffer.from(value),
    headers: { h: Buffer.from('v') },
  }) as unknown as KafkaRecord;

function hook(id: string, status: Webhook['status'] = 'active', filter?: Webhook['filter']): Webhook {
  return { id, url: `https://example.com/${id}`, status, filter } as Webhook;
}

function deps(result: DecodeResult<EmailEvent>, webhooks: Webhook[]): FanoutDeps {
  return {
    decode: async () => result,
    match: () => webhooks,
    topics: { dispatch: 'dispatch', dlq: 'dlq' },
    now: () => 42,
  };
}

const source = { topic: 'events', partition: 2 };

/** A dispatch record as the batcher reads it (the framed per-event form), as a plain object. */
function dispatchOf(value: Buffer | string | null | undefined): EventDispatchRecord {
  const parsed = parseDispatchInput(value as Buffer);
  if (!parsed.ok || parsed.value.kind !== 'event')
    throw new Error(`not a per-event dispatch record: ${JSON.stringify(parsed)}`);
  const { record, dataBytes } = parsed.value;
  return dataBytes === undefined
    ? (record as EventDispatchRecord)
    : { ...record, data: JSON.parse(dataBytes.toString('utf8')) };
}

describe('fanOut', () => {
  it("writes one record per event around the data serialised once: byte for byte JSON.stringify, and each webhook's payload is what its envelope was", async () => {
    const generate = eventGenerator({
      domains: 3,
      seed: 5,
      mix: Object.fromEntries(EVENT_TYPES.map((t) => [t, 1])),
    });
    // Ids and urls with quotes, backslashes, control and non-ASCII characters, lone surrogates.
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(text, text), { minLength: 1, maxLength: 3 }), async (ids) => {
        const e = generate();
        const webhooks = ids.map(([id, path]) => ({ ...hook(id), url: `https://x.example/${path}` }));
        const out = await fanOut(source, msg('x'), deps({ ok: true, value: e, schemaId: 1 }, webhooks));
        const data = renderData(e);
        if (!data.ok || out.kind !== 'matched') throw new Error(`not rendered: ${out.kind}`);
        expect(out.records).toHaveLength(1);
        const expected = {
          event_id: e.id,
          type: e.type,
          domain_id: e.domain_id,
          created_at: isoMicros(e.created_at),
          event_created_at: e.created_at,
          dispatched_at: 42,
          webhooks: webhooks.map((w) => ({ id: w.id, url: w.url })),
          data: data.data,
        };
        // The framed form: magic, the fields but `data` as JSON, a newline, then `data` as JSON.
        const { data: _, ...head } = expected;
        const value = out.records[0]!.value as Buffer;
        expect(value.subarray(0, 4)).toEqual(Buffer.from([0x00, 0x68, 0x64, 0x31]));
        expect(value.subarray(4).toString('utf8')).toBe(
          `${JSON.stringify(head)}\n${JSON.stringify(data.data)}`,
        );
        const parsed = parseDispatchInput(value);
        if (!parsed.ok || parsed.value.kind !== 'event') throw new Error('not an event dispatch record');
        expect(parsed.value.record).toEqual(head);
        expect(parsed.value.dataBytes?.toString('utf8')).toBe(JSON.stringify(data.data));
        for (const w of webhooks)
          expect(payloadText(expected, w, JSON.stringify(data.data))).toBe(
            JSON.stringify(envelope(e, w, data.data)),
          );
      }),
      { numRuns: 30 },
    );
  }, 30_000);

  it('produces one dispatch record for the active webhooks, keyed by the domain, and dead-letters suspended ones', async () => {
    const out = await fanOut(
      source,
      msg('x'),
      deps({ ok: true, value: event, schemaId: 1 }, [hook('a'), hook('b', 'suspended'), hook('c')]),
    );
    expect(out).toMatchObject({ kind: 'matched', dispatched: 2, suspended: 1 });
    expect(out.records.map((r) => [r.topic, r.key])).toEqual([
      ['dispatch', event.domain_id],
      ['dlq', 'b'],
    ]);
    const dispatch = dispatchOf(out.records[0]!.value);
    expect(dispatch).toMatchObject({
      event_id: event.id,
      type: 'activity.delivered',
      domain_id: event.domain_id,
      dispatched_at: 42,
      webhooks: [
        { id: 'a', url: 'https://example.com/a' },
        { id: 'c', url: 'https://example.com/c' },
      ],
    });
    expect(dispatch.data).toMatchObject({ object: 'activity', id: event.id });
    const letter = JSON.parse(String(out.records[1]!.value));
    expect(letter).toMatchObject({
      reason: 'suspended',
      webhook_id: 'b',
      dispatch: [{ event_id: event.id, payload: { webhook_id: 'b', url: 'https://example.com/b' } }],
    });
  });

  it('produces nothing for the dispatch topic when every matched webhook is suspended', async () => {
    const out = await fanOut(
      source,
      msg('x'),
      deps({ ok: true, value: event, schemaId: 1 }, [hook('b', 'suspended')]),
    );
    expect(out).toMatchObject({ kind: 'matched', dispatched: 0, suspended: 1 });
    expect(out.records.map((r) => r.topic)).toEqual(['dlq']);
  });

  it('dispatches only to the webhooks whose filter matches; a suspended one whose filter does not match keeps nothing', async () => {
    const recipient = event.email!.recipient.email;
    const domain = recipient.slice(recipient.indexOf('@'));
    const webhooks = [
      hook('plain'),
      hook('yes', 'active', { data: { email: { recipient: { email: { $endsWith: domain } } } } }),
      hook('no', 'active', { data: { email: { recipient: { email: { $endsWith: '@nowhere.invalid' } } } } }),
      hook('type', 'active', { type: { $in: ['activity.delivered'] }, domain_id: event.domain_id }),
      hook('empty', 'active', {}),
      hook('parked', 'suspended', { type: 'activity.opened' }),
    ];
    const out = await fanOut(source, msg('x'), deps({ ok: true, value: event, schemaId: 1 }, webhooks));
    expect(out).toMatchObject({ kind: 'matched', dispatched: 4, suspended: 0, filtered: 2 });
    expect(out.records).toHaveLength(1);
    const record = dispatchOf(out.records[0]!.value);
    expect(record.webhooks.map((w: { id: string }) => w.id)).toEqual(['plain', 'yes', 'type', 'empty']);
    // The filter sees what the receiver gets: the dispatched data has the field it matched.
    expect(
      (record.data as { email: { recipient: { email: string } } }).email.recipient.email.endsWith(domain),
    ).toBe(true);
  });

  it('drops an event no webhook wants', async () => {
    expect((await fanOut(source, msg('x'), deps({ ok: true, value: event, schemaId: 1 }, []))).kind).toBe(
      'dropped',
    );
  });

  it('dead-letters an undecodable record with its original bytes, headers and position', async () => {
    const out = await fanOut(
      source,
      msg('garbage'),
      deps({ ok: false, reason: 'bad-magic', error: 'first byte 103' }, []),
    );
    expect(out.kind).toBe('poison');
    const letter = JSON.parse(String(out.records[0]!.value));
    expect(letter).toMatchObject({
      reason: 'poison',
      error: 'bad-magic: first byte 103',
      source: {
        topic: 'events',
        partition: 2,
        offset: '7',
        key_b64: Buffer.from('k').toString('base64'),
        headers: { h: 'v' },
      },
    });
    expect(Buffer.from(letter.source.value_b64, 'base64').toString()).toBe('garbage');
  });

  it('dead-letters any type outside the catalog as unknown_type with its bytes, even when webhooks match', async () => {
    const catalog = new Set<string>(EVENT_TYPES);
    const near = EVENT_TYPES.flatMap((t) => [t.toUpperCase(), `${t} `, t.slice(0, -1), t.replace('.', '_')]);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom('', 'activity.deliverd', ...near), fc.string({ unit: 'grapheme' })),
        fc.uint8Array({ maxLength: 64 }),
        async (type, bytes) => {
          fc.pre(!catalog.has(type));
          const message = { ...msg(''), value: Buffer.from(bytes) } as KafkaRecord;
          const out = await fanOut(
            source,
            message,
            deps({ ok: true, value: { ...event, type }, schemaId: 1 }, [hook('a')]),
          );
          expect(out.kind).toBe('unknown_type');
          expect(out.records).toHaveLength(1);
          expect(out.records[0]).toMatchObject({ topic: 'dlq', key: null });
          const letter = JSON.parse(String(out.records[0]!.value));
          expect(letter).toMatchObject({
            reason: 'unknown_type',
            webhook_id: null,
            error: `unknown_type: event type ${JSON.stringify(type)} is not in the catalog`,
            source: { topic: 'events', partition: 2, offset: '7' },
          });
          expect(Buffer.from(letter.source.value_b64 ?? '', 'base64').equals(Buffer.from(bytes))).toBe(true);
        },
      ),
    );
  });

  it('matches every catalog type (none is taken for unknown)', async () => {
    for (const type of EVENT_TYPES) {
      const out = await fanOut(
        source,
        msg('x'),
        deps({ ok: true, value: { ...event, type }, schemaId: 1 }, []),
      );
      expect(out.kind).toBe('dropped');
    }
  });

  it('lets a transient decode failure propagate (the batch is retried, never dead-lettered)', async () => {
    const d = deps({ ok: true, value: event, schemaId: 1 }, []);
    d.decode = async () => {
      throw new Error('registry down');
    };
    await expect(fanOut(source, msg('x'), d)).rejects.toThrow('registry down');
  });

  it('everything it writes validates: dispatch records and dead letters, with headers that match', async () => {
    const events = eventGenerator({ domains: 2, seed: 7 });
    const input = fc.record({
      decoded: fc.boolean(),
      statuses: fc.array(fc.constantFrom<Webhook['status']>('active', 'suspended'), { maxLength: 4 }),
      bytes: fc.uint8Array({ maxLength: 30 }),
    });
    await fc.assert(
      fc.asyncProperty(input, async ({ decoded, statuses, bytes }) => {
        const result: DecodeResult<EmailEvent> = decoded
          ? { ok: true, value: events(), schemaId: 1 }
          : { ok: false, reason: 'corrupt', error: 'bad body' };
        const m = { ...msg(''), value: Buffer.from(bytes) } as KafkaRecord;
        const out = await fanOut(
          source,
          m,
          deps(
            result,
            statuses.map((st, i) => hook(`w${i}`, st)),
          ),
        );
        for (const r of out.records) {
          const value = r.value as Buffer;
          if (r.topic === 'dispatch') {
            expect(parseDispatchInput(value)).toMatchObject({ ok: true, value: { kind: 'event' } });
            continue;
          }
          const letter = parseDeadLetter(value);
          if (!letter.ok) throw new Error(letter.error);
          expect(r.key).toBe(letter.value.webhook_id);
          expect(letter.value.source).toMatchObject({ topic: 'events', partition: 2, offset: '7' });
          expect(r.headers).toEqual(deadLetterHeaders(letter.value));
        }
        // One letter per suspended webhook of the event: the ids differ.
        const letters = out.records.filter((r) => r.topic === 'dlq');
        expect(new Set(letters.map((r) => JSON.parse(String(r.value)).dlq_id)).size).toBe(letters.length);
      }),
      { numRuns: 40 },
    );
  });
});

describe('fanOut: batches of one event for webhooks at max_events 1', () => {
  const single = (id: string, format: Webhook['format'] = 'json', extra: Partial<Webhook> = {}): Webhook =>
    ({ ...hook(id), format, batch: { max_events: 1, window_ms: 1000 }, ...extra }) as Webhook;
  const many = (id: string): Webhook =>
    ({ ...hook(id), format: 'json', batch: { max_events: 500, window_ms: 30_000 } }) as Webhook;
  const withBatches = (result: DecodeResult<EmailEvent>, webhooks: Webhook[]): FanoutDeps => ({
    ...deps(result, webhooks),
    topics: { dispatch: 'dispatch', dlq: 'dlq', batches: 'batches' },
  });
  const batchOf = (value: unknown) => {
    const parsed = parseBatchRecord(value as Buffer);
    if (!parsed.ok) throw new Error(parsed.error);
    return parsed.value;
  };

  it("writes each one a batch record whose body is byte for byte the batcher's (JSON array or one line); the rest share the dispatch record", async () => {
    const generate = eventGenerator({
      domains: 3,
      seed: 9,
      mix: Object.fromEntries(EVENT_TYPES.map((t) => [t, 1])),
    });
    // Ids and urls with quotes, backslashes, control and non-ASCII characters, lone surrogates.
    const text = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 });
    const target = fc.record({
      id: text,
      path: text,
      kind: fc.constantFrom('json', 'jsonl', 'many'),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(target, { minLength: 1, maxLength: 5, selector: (t) => t.id }),
        async (ts) => {
          const e = generate();
          const webhooks = ts.map((t) => ({
            ...(t.kind === 'many' ? many(t.id) : single(t.id, t.kind as 'json' | 'jsonl')),
            url: `https://x.example/${t.path}`,
          }));
          const trace = { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' };
          const out = await fanOut(
            source,
            msg('x'),
            withBatches({ ok: true, value: e, schemaId: 1 }, webhooks),
            trace,
          );
          const data = renderData(e);
          if (!data.ok || out.kind !== 'matched') throw new Error(`not rendered: ${out.kind}`);
          const singles = webhooks.filter((w) => w.batch?.max_events === 1);
          const others = webhooks.filter((w) => w.batch?.max_events !== 1);
          expect(out).toMatchObject({ dispatched: webhooks.length, singles: singles.length });
          const batches = out.records.filter((r) => r.topic === 'batches');
          expect(batches.map((r) => r.key)).toEqual(singles.map((w) => w.id));
          const dispatch = out.records.filter((r) => r.topic === 'dispatch');
          expect(dispatch).toHaveLength(others.length > 0 ? 1 : 0);
          if (dispatch[0])
            expect(dispatchOf(dispatch[0].value).webhooks.map((w) => w.id)).toEqual(others.map((w) => w.id));
          const fields = { type: e.type, domain_id: e.domain_id, created_at: isoMicros(e.created_at) };
          for (const [i, w] of singles.entries()) {
            const r = batches[i]!;
            expect(r.headers).toEqual(trace);
            const b = batchOf(r.value);
            const payload = payloadText(fields, w, JSON.stringify(data.data));
            // What the batcher closes for one event: the payload in brackets, or the payload and a newline.
            expect(b.body).toBe(w.format === 'jsonl' ? `${payload}\n` : `[${payload}]`);
            expect(JSON.parse(payload)).toEqual(JSON.parse(JSON.stringify(envelope(e, w, data.data))));
            expect(b).toMatchObject({
              webhook_id: w.id,
              format: w.format,
              event_ids: [e.id],
              first_enqueued_at: 42,
              oldest_event_at: e.created_at,
              created_at: 42,
            });
            expect(b.batch_id).toBe(batchIdOf('events', 2, '7', w.id));
          }
        },
      ),
      { numRuns: 40 },
    );
  }, 30_000);

  it('gives each batch an id from the event record and the webhook: the same on a replay, distinct across webhooks and records', async () => {
    const webhooks = [single('a'), single('b', 'jsonl')];
    const ids = async (offset: string) => {
      const out = await fanOut(
        source,
        { ...msg('x'), offset } as KafkaRecord,
        withBatches({ ok: true, value: event, schemaId: 1 }, webhooks),
      );
      return out.records.map((r) => batchOf(r.value).batch_id);
    };
    const first = await ids('7');
    expect(await ids('7')).toEqual(first);
    const next = await ids('8');
    expect(new Set([...first, ...next]).size).toBe(4);
    for (const id of [...first, ...next]) expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('goes through the dispatch record when no batches topic is given (FANOUT_SINGLE_BATCHES=false)', async () => {
    const out = await fanOut(source, msg('x'), deps({ ok: true, value: event, schemaId: 1 }, [single('a')]));
    expect(out).toMatchObject({ kind: 'matched', dispatched: 1, singles: 0 });
    expect(out.records.map((r) => r.topic)).toEqual(['dispatch']);
    expect(dispatchOf(out.records[0]!.value).webhooks.map((w) => w.id)).toEqual(['a']);
  });

  it('dead-letters a suspended one as before and writes nothing for one whose filter does not match', async () => {
    const out = await fanOut(
      source,
      msg('x'),
      withBatches({ ok: true, value: event, schemaId: 1 }, [
        single('parked', 'json', { status: 'suspended' }),
        single('other', 'json', { filter: { type: 'activity.opened' } }),
        single('live'),
      ]),
    );
    expect(out).toMatchObject({ kind: 'matched', dispatched: 1, singles: 1, suspended: 1, filtered: 1 });
    expect(out.records.map((r) => [r.topic, r.key])).toEqual([
      ['dlq', 'parked'],
      ['batches', 'live'],
    ]);
  });
});
