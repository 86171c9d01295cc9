import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, deadLetterMessage, deadLetterSource, stableDlqId } from './dead-letters.ts';
import * as S from './record-schemas.ts';
import type * as R from './records.ts';
import { DEAD_LETTER_REASONS, type DeadLetterReason, type ParsedRecord } from './records.ts';

const id = fc.string({ minLength: 1, maxLength: 12 });
const ms = fc.integer({ min: 0, max: 4_102_444_800_000 });
const small = fc.nat({ max: 1000 });
const attemptNo = fc.integer({ min: 1, max: 50 });
const status = fc.option(fc.integer({ min: 100, max: 599 }), { nil: null });
const textOrNull = fc.option(fc.string({ maxLength: 40 }), { nil: null });

const dispatch: fc.Arbitrary<R.DispatchRecord> = fc.record({
  event_id: id,
  webhook_id: id,
  type: id,
  event_created_at: ms,
  dispatched_at: ms,
  payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
});
const eventDispatch: fc.Arbitrary<R.EventDispatchRecord> = fc.record({
  event_id: id,
  type: id,
  domain_id: id,
  created_at: fc.string({ maxLength: 30 }),
  event_created_at: ms,
  dispatched_at: ms,
  webhooks: fc.array(fc.record({ id, url: fc.string({ maxLength: 30 }) }), { minLength: 1, maxLength: 4 }),
  data: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })),
});
const batch: fc.Arbitrary<R.BatchRecord> = fc.record({
  batch_id: id,
  webhook_id: id,
  format: fc.constantFrom('json' as const, 'jsonl' as const),
  body: fc.string({ maxLength: 60 }),
  event_ids: fc.array(id, { maxLength: 5 }),
  first_enqueued_at: ms,
  oldest_event_at: ms,
  created_at: ms,
});
const outcome: fc.Arbitrary<R.AttemptOutcome> = fc.record({
  attempt: attemptNo,
  tier: id,
  at: ms,
  status,
  latency_ms: small,
  error: textOrNull,
});
const retry: fc.Arbitrary<R.RetryRecord> = fc.record({
  batch,
  attempt: attemptNo,
  tier: id,
  due_at: ms,
  first_failed_at: ms,
  last_error: textOrNull,
  history: fc.array(outcome, { maxLength: 4 }),
});
const attempt: fc.Arbitrary<R.AttemptRecord> = fc.record({
  webhook_id: id,
  batch_id: id,
  attempt: attemptNo,
  tier: id,
  at: ms,
  status,
  latency_ms: small,
  outcome: fc.constantFrom('delivered' as const, 'retry' as const, 'dead' as const),
  error: textOrNull,
  response_excerpt: textOrNull,
  event_count: small,
});
const notice: fc.Arbitrary<R.OperationalNotice> = fc.record({
  type: fc.constantFrom('webhook.suspended' as const, 'webhook.resumed' as const),
  webhook_id: id,
  account_id: fc.string(),
  domain_id: fc.string(),
  reason: fc.string(),
  at: ms,
  counts: fc.dictionary(fc.string({ maxLength: 8 }), small),
});
const ledger: fc.Arbitrary<R.LedgerEntry> = fc.record({
  dlq_id: id,
  webhook_id: fc.option(id, { nil: null }),
  target: fc.constantFrom('batches' as const, 'dispatch' as const),
  replayed_at: ms,
  by: fc.string(),
});
const reason = fc.constantFrom(...(Object.keys(DEAD_LETTER_REASONS) as DeadLetterReason[]));
const kafkaMessage = fc.record({
  offset: fc.bigInt({ min: 0n, max: 2n ** 63n - 1n }).map(String),
  key: fc.option(fc.uint8Array({ maxLength: 16 }).map(Buffer.from), { nil: null }),
  value: fc.option(fc.uint8Array({ maxLength: 64 }).map(Buffer.from), { nil: null }),
  headers: fc.dictionary(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })),
});
/** Whatever a stage hands the writer: any reason, source, contents and id parts. */
const letterInput = fc.record({
  reason,
  topic: id,
  partition: fc.nat({ max: 1000 }),
  message: kafkaMessage,
  withBytes: fc.boolean(),
  webhookId: fc.option(id, { nil: null }),
  batch: fc.option(batch, { nil: null }),
  dispatch: fc.option(fc.array(dispatch, { maxLength: 3 }), { nil: null }),
  attempts: fc.array(outcome, { maxLength: 3 }),
  error: textOrNull,
  now: ms,
  idParts: fc.option(fc.array(fc.oneof(id, fc.nat()), { minLength: 1, maxLength: 3 }), { nil: undefined }),
});

const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));
/** What a reader gets back of a value (JSON has no -0). */
const roundTrip = (v: unknown) => JSON.parse(JSON.stringify(v));
type Parser = (b: Buffer | null) => ParsedRecord<unknown>;
/** The batcher's reader of webhooks.dispatch, as a parser of one of its two forms. */
const dispatchInput =
  (kind: S.DispatchInput['kind']): Parser =>
  (b) => {
    const r = S.parseDispatchInput(b);
    if (!r.ok) return r;
    return r.value.kind === kind
      ? { ok: true, value: r.value.record }
      : { ok: false, error: `/ read as ${r.value.kind}`, reason: 'invalid' };
  };
const cases: [string, fc.Arbitrary<object>, Parser][] = [
  ['dispatch', dispatch, S.parseDispatchRecord],
  ['dispatch input, per webhook', dispatch, dispatchInput('webhook')],
  ['dispatch input, per event', eventDispatch, dispatchInput('event')],
  ['batch', batch, S.parseBatchRecord],
  ['retry', retry, S.parseRetryRecord],
  ['attempt', attempt, S.parseAttemptRecord],
  ['notice', notice, S.parseOperationalNotice],
  ['ledger entry', ledger, S.parseLedgerEntry],
];
const parsers: Parser[] = [...cases.map((c) => c[2]), S.parseDeadLetter];

describe('record schemas', () => {
  it.each(cases)('%s: a well-formed document validates and parses back equal', (_name, arb, parse) => {
    fc.assert(
      fc.property(arb, (doc) => {
        expect(parse(bytes(doc))).toEqual({ ok: true, value: roundTrip(doc) });
      }),
      { numRuns: 200 },
    );
  });

  it.each(cases)(
    '%s: a document missing any field, or with any field mistyped, is invalid',
    (_n, arb, parse) => {
      fc.assert(
        // No field of any schema takes an array of arrays, a fraction or a boolean.
        fc.property(arb, fc.nat(), fc.constantFrom(undefined, [[1]], -1.5, true), (doc, i, value) => {
          const keys = Object.keys(doc);
          const key = keys[i % keys.length]!;
          const bad: Record<string, unknown> = { ...doc, [key]: value };
          if (value === undefined) delete bad[key];
          const r = parse(bytes(bad));
          expect(r).toMatchObject({ ok: false, reason: 'invalid' });
          expect(r.ok || r.error.startsWith('/')).toBe(true);
        }),
        { numRuns: 200 },
      );
    },
  );

  it('the dead-letter writer: every letter validates, its headers say the same as its value', () => {
    fc.assert(
      fc.property(letterInput, (input) => {
        const source = deadLetterSource(input.topic, input.partition, input.message, input.withBytes);
        const { letter, record } = deadLetterMessage({ ...input, source });
        expect(S.parseDeadLetter(Buffer.from(record.value))).toEqual({ ok: true, value: roundTrip(letter) });
        expect(record.key).toBe(input.webhookId);
        expect(record.headers).toEqual({
          [DEAD_LETTER_HEADERS.reason]: input.reason,
          [DEAD_LETTER_HEADERS.dlqId]: letter.dlq_id,
          [DEAD_LETTER_HEADERS.sourceTopic]: input.topic,
          [DEAD_LETTER_HEADERS.sourcePartition]: String(input.partition),
          [DEAD_LETTER_HEADERS.sourceOffset]: input.message.offset,
        });
        const parts = input.idParts ?? [input.topic, input.partition, input.message.offset];
        expect(letter.dlq_id).toBe(stableDlqId(input.reason, ...parts));
        expect(source.value_b64 !== null).toBe(input.withBytes && input.message.value !== null);
      }),
      { numRuns: 300 },
    );
  });

  it('a dead letter with an unknown reason, a bad source offset or a half batch is invalid', () => {
    fc.assert(
      fc.property(letterInput, (input) => {
        const source = deadLetterSource(input.topic, input.partition, input.message, input.withBytes);
        const { letter } = deadLetterMessage({ ...input, source });
        for (const bad of [
          { ...letter, reason: 'misplaced' },
          { ...letter, source: { ...source, offset: '-1' } },
          { ...letter, source: { ...source, headers: { h: 1 } } },
          { ...letter, batch: { batch_id: 'b' } },
          { ...letter, dispatch: [{}] },
          { ...letter, attempts: [{ attempt: 0 }] },
        ])
          expect(S.parseDeadLetter(bytes(bad))).toMatchObject({ ok: false, reason: 'invalid' });
      }),
      { numRuns: 100 },
    );
  });

  it('no parser throws on arbitrary bytes or JSON values, and each says which kind of failure', () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
      fc.jsonValue().map((v) => bytes(v)),
      fc.string().map((s) => Buffer.from(s)),
      fc.constant(null),
      fc.constant(Buffer.alloc(0)),
    );
    fc.assert(
      fc.property(input, (b) => {
        for (const parse of parsers) {
          const r = parse(b);
          if (!r.ok) expect(['empty', 'not_json', 'invalid']).toContain(r.reason);
          if (!b || b.length === 0) expect(r).toMatchObject({ ok: false, reason: 'empty' });
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('a JSON error names the position, never the text it met', () => {
    const r = S.parseDeadLetter(Buffer.from('{"password": hunter2}'));
    expect(r).toEqual({ ok: false, reason: 'not_json', error: 'not JSON' });
    expect(S.parseDeadLetter(Buffer.from('{"password" "hunter2"}'))).toMatchObject({
      error: 'not JSON at position 12',
    });
    expect(S.parseBatchRecord(Buffer.from('{"a":'))).toMatchObject({ error: 'not JSON: unexpected end' });
  });
});
