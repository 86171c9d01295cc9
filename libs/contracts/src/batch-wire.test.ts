import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { batchBodyBytes, batchIdOf, framedBatchRecord, isFramedBatch } from './batch-wire.ts';
import { parseBatchRecord, parseRetryRecord } from './record-schemas.ts';
import type { BatchRecord } from './records.ts';

const id = fc.string({ minLength: 1, maxLength: 12 });
const ms = fc.integer({ min: 0, max: 4_102_444_800_000 });
// Bodies with quotes, backslashes, newlines, control characters and non-ASCII: what the JSON form
// escaped, carried here as they are.
const body = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s).toString('utf8')),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 6 }).map((v) => JSON.stringify(v)),
);
const batch: fc.Arbitrary<BatchRecord> = fc.record({
  batch_id: id,
  webhook_id: id,
  format: fc.constantFrom('json' as const, 'jsonl' as const),
  body,
  event_ids: fc.array(id, { maxLength: 5 }),
  first_enqueued_at: ms,
  oldest_event_at: ms,
  created_at: ms,
});
const MAGIC = Buffer.from([0x00, 0x68, 0x62, 0x31]);

/** The framed record of `b`, its body cut into `cuts` pieces at byte positions (pieces may split a character). */
function framed(b: BatchRecord, cuts: number[] = []): Buffer {
  const { body: text, ...meta } = b;
  const bytes = Buffer.from(text);
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
  const pieces = [...at, bytes.length].map((end, i) => bytes.subarray(i === 0 ? 0 : at[i - 1], end));
  return framedBatchRecord(meta, pieces);
}

describe('framed batch records', () => {
  it('the reader gives back every field and the exact body, whatever it holds and however it was cut', () => {
    fc.assert(
      fc.property(batch, fc.array(fc.nat(), { maxLength: 4 }), (b, cuts) => {
        const value = framed(b, cuts);
        expect(isFramedBatch(value)).toBe(true);
        // The layout: the 4 bytes, the head's JSON without the body, a newline, the body's UTF-8.
        const { body: text, ...meta } = b;
        expect(
          value.equals(Buffer.concat([MAGIC, Buffer.from(`${JSON.stringify(meta)}\n`), Buffer.from(text)])),
        ).toBe(true);
        const r = parseBatchRecord(value);
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value).toEqual(b);
        expect(r.value.body).toBe(text);
        // The bytes sent are a view of the record, not a copy.
        const sent = batchBodyBytes(r.value);
        expect(sent.equals(Buffer.from(text))).toBe(true);
        expect(sent.buffer).toBe(value.buffer);
        // Carried on (a retry record, a dead letter), the batch serialises as the JSON form with the body as text.
        const retry = parseRetryRecord(
          Buffer.from(
            JSON.stringify({
              batch: r.value,
              attempt: 1,
              tier: 't',
              due_at: 0,
              first_failed_at: 0,
              last_error: null,
              history: [],
            }),
          ),
        );
        expect(retry.ok && retry.value.batch).toEqual(b);
        // The JSON form still reads, with the same result.
        const json = parseBatchRecord(Buffer.from(JSON.stringify(b)));
        expect(json.ok && json.value).toEqual(b);
        expect(json.ok && batchBodyBytes(json.value).equals(sent)).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('a batch whose body is replaced sends the new body, spread or assigned', () => {
    const b: BatchRecord = {
      batch_id: 'b',
      webhook_id: 'w',
      format: 'json',
      body: '[{"a":"é"}]',
      event_ids: ['e'],
      first_enqueued_at: 1,
      oldest_event_at: 1,
      created_at: 2,
    };
    const r = parseBatchRecord(framed(b));
    if (!r.ok) throw new Error(r.error);
    const spread = { ...r.value, body: '[]' };
    expect(batchBodyBytes(spread).toString()).toBe('[]');
    expect(batchBodyBytes({ ...r.value }).toString()).toBe(b.body);
    r.value.body = '[1]';
    expect(r.value.body).toBe('[1]');
    expect(batchBodyBytes(r.value).toString()).toBe('[1]');
    expect(JSON.parse(JSON.stringify(r.value)).body).toBe('[1]');
  });

  it('bad bytes after the 4 bytes are refused with the reason, never thrown, at and past every boundary', () => {
    const good = framed({
      batch_id: 'b',
      webhook_id: 'w',
      format: 'jsonl',
      body: '{"x":1}\n',
      event_ids: ['e'],
      first_enqueued_at: 1,
      oldest_event_at: 1,
      created_at: 2,
    });
    const newline = good.indexOf(0x0a, 4);
    const cases: [Buffer, RegExp][] = [
      [MAGIC, /without the newline/],
      [good.subarray(0, newline), /without the newline/],
      [Buffer.concat([MAGIC, Buffer.from('\n')]), /^head: empty/],
      [Buffer.concat([MAGIC, Buffer.from('{"batch_id":"b"\n[]')]), /^head: not JSON/],
      [Buffer.concat([MAGIC, Buffer.from('{"batch_id":"b"}\n[]')]), /^head: \/ must have required property/],
      [Buffer.concat([MAGIC, Buffer.from('[]\n[]')]), /^head: \/ must be object/],
      [Buffer.concat([good.subarray(0, newline + 1), Buffer.from([0xff, 0xfe])]), /body is not UTF-8/],
      [Buffer.concat([good, Buffer.from([0xc3])]), /body is not UTF-8/],
    ];
    for (const [value, error] of cases) {
      const r = parseBatchRecord(value);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(error);
    }
    // Cut anywhere: refused or (cut inside the body at a character boundary) a shorter body; never thrown.
    for (let end = 0; end < good.length; end++) {
      const r = parseBatchRecord(good.subarray(0, end));
      if (r.ok) expect(end).toBeGreaterThan(newline);
    }
    // An empty body is a body (delivery sends it as it is): the JSON form allowed an empty string too.
    expect(parseBatchRecord(good.subarray(0, newline + 1)).ok).toBe(true);
  });

  it('arbitrary bytes behind the 4 bytes: never throws, and whatever reads validates whole', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc
            .tuple(fc.jsonValue({ maxDepth: 2 }), fc.uint8Array({ maxLength: 40 }))
            .map(([head, rest]) => Buffer.concat([Buffer.from(`${JSON.stringify(head)}\n`), rest])),
        ),
        (rest) => {
          const r = parseBatchRecord(Buffer.concat([MAGIC, rest]));
          if (!r.ok) {
            expect(['empty', 'not_json', 'invalid']).toContain(r.reason);
            return;
          }
          expect(typeof r.value.batch_id).toBe('string');
          expect(Buffer.from(r.value.body).equals(batchBodyBytes(r.value))).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('a head that names a body of its own does not override the bytes', () => {
    const value = Buffer.concat([
      MAGIC,
      Buffer.from(
        `${JSON.stringify({ batch_id: 'b', webhook_id: 'w', format: 'json', event_ids: [], first_enqueued_at: 0, oldest_event_at: 0, created_at: 0, body: 'lie' })}\n[1]`,
      ),
    ]);
    const r = parseBatchRecord(value);
    expect(r.ok && r.value.body).toBe('[1]');
    expect(r.ok && batchBodyBytes(r.value).toString()).toBe('[1]');
  });

  it('a batch id is the same as every earlier release made it: replays and receivers dedupe on it', () => {
    expect(batchIdOf('p.email.events', 3, '12345', 'wh_1')).toBe('7DMeVlAKE16mzuSZSxRvb0');
    fc.assert(
      fc.property(
        id,
        fc.nat(4096),
        fc.bigInt({ min: 0n, max: 2n ** 63n }),
        fc.string({ unit: 'grapheme' }),
        (topic, p, o, w) => {
          const before = createHash('sha256')
            .update(`${topic}\u0000${p}\u0000${o}\u0000${w}`)
            .digest('base64url')
            .slice(0, 22);
          expect(batchIdOf(topic, p, String(o), w)).toBe(before);
        },
      ),
    );
  });
});
