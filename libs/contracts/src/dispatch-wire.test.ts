import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventDispatchText } from './dispatch-text.ts';
import { framedDispatchRecord, isFramedDispatch } from './dispatch-wire.ts';
import { parseDispatchInput } from './record-schemas.ts';
import type { EventDispatchRecord } from './records.ts';

const id = fc.string({ minLength: 1, maxLength: 12 });
const ms = fc.integer({ min: 0, max: 4_102_444_800_000 });
// Text with quotes, backslashes, newlines, control and non-ASCII characters, lone surrogates.
const text = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const record: fc.Arbitrary<EventDispatchRecord> = fc.record({
  event_id: id,
  type: id,
  domain_id: id,
  created_at: text,
  event_created_at: ms,
  dispatched_at: ms,
  webhooks: fc.array(fc.record({ id, url: text }), { minLength: 1, maxLength: 4 }),
  data: fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }),
});
const MAGIC = Buffer.from([0x00, 0x68, 0x64, 0x31]);

function framed(r: EventDispatchRecord): Buffer {
  const { data, ...head } = r;
  return framedDispatchRecord(head, JSON.stringify(data));
}

/** The record as it reads, `data` parsed from the framed form's bytes (which the reader leaves unparsed). */
function event(value: Buffer): { record: EventDispatchRecord; dataBytes?: Buffer } {
  const r = parseDispatchInput(value);
  if (!r.ok) throw new Error(r.error);
  if (r.value.kind !== 'event') throw new Error('not the per-event form');
  const { record, dataBytes } = r.value;
  if (dataBytes === undefined) return { record: record as EventDispatchRecord };
  return { record: { ...record, data: JSON.parse(dataBytes.toString('utf8')) }, dataBytes };
}

const good: EventDispatchRecord = {
  event_id: 'e',
  type: 'activity.sent',
  domain_id: 'd',
  created_at: '2026-12-06T00:00:00.000000Z',
  event_created_at: 1,
  dispatched_at: 2,
  webhooks: [{ id: 'w', url: 'https://example.com/h' }],
  data: { object: 'activity', email: { subject: 'é "q" \\ \n' } },
};

describe('framed dispatch records', () => {
  it('the reader gives back every field, and the exact data bytes the fan-out serialised, whatever they hold', () => {
    fc.assert(
      fc.property(record, (r) => {
        const value = framed(r);
        expect(isFramedDispatch(value)).toBe(true);
        // The layout: the 4 bytes, the head's JSON without `data`, a newline, `data`'s JSON.
        const { data, ...head } = r;
        const dataJson = JSON.stringify(data);
        expect(
          value.equals(Buffer.concat([MAGIC, Buffer.from(`${JSON.stringify(head)}\n${dataJson}`)])),
        ).toBe(true);
        const read = event(value);
        // What JSON keeps of r (a -0 in data reads back as 0, as it did in the JSON form).
        const kept = JSON.parse(JSON.stringify(r));
        expect(read.record).toEqual(kept);
        // The bytes the batcher copies into payloads are a view of the record, not a copy.
        expect(read.dataBytes?.toString('utf8')).toBe(dataJson);
        expect(read.dataBytes?.buffer).toBe(value.buffer);
        // Serialised, it is the JSON form byte for byte, and the JSON form reads to the same record.
        expect(JSON.stringify(read.record)).toBe(eventDispatchText(head, dataJson));
        const json = event(Buffer.from(eventDispatchText(head, dataJson)));
        expect(json.record).toEqual(kept);
        expect(json.dataBytes).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  it('bad bytes after the 4 bytes are refused with the reason, never thrown, at and past every boundary', () => {
    const value = framed(good);
    const newline = value.indexOf(0x0a, 4);
    const head = value.subarray(0, newline + 1);
    const cases: [Buffer, RegExp][] = [
      [MAGIC, /without the newline/],
      [value.subarray(0, newline), /without the newline/],
      [Buffer.concat([MAGIC, Buffer.from('\n{}')]), /^head: empty/],
      [Buffer.concat([MAGIC, Buffer.from('{"event_id":"e"\n{}')]), /^head: not JSON/],
      [Buffer.concat([MAGIC, Buffer.from('{"event_id":"e"}\n{}')]), /^head: \/ must have required property/],
      [Buffer.concat([MAGIC, Buffer.from('[]\n{}')]), /^head: \/ must be object/],
      [head, /^data: empty/],
      [Buffer.concat([head, Buffer.from('{"a":')]), /^data: not JSON/],
      [Buffer.concat([head, Buffer.from('[1,2]')]), /data is not a JSON object/],
      [Buffer.concat([head, Buffer.from('null')]), /data is not a JSON object/],
      [Buffer.concat([head, Buffer.from('"s"')]), /data is not a JSON object/],
      [Buffer.concat([head, Buffer.from('{}{}')]), /^data: not JSON/],
      [Buffer.concat([head, Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d])]), /data is not UTF-8/],
      [Buffer.concat([value, Buffer.from([0xc3])]), /data is not UTF-8/],
    ];
    for (const [bytes, error] of cases) {
      const r = parseDispatchInput(bytes);
      expect(r.ok, String(error)).toBe(false);
      if (!r.ok) expect(r.error).toMatch(error);
    }
    // Cut anywhere short of the end: refused (data is one object, so no shorter prefix is whole); never thrown.
    for (let end = 0; end < value.length; end++)
      expect(parseDispatchInput(value.subarray(0, end)).ok).toBe(false);
    // Surrounding whitespace is JSON's: the copy into payloads keeps it, which a JSON array or lines still parse.
    expect(parseDispatchInput(Buffer.concat([head, Buffer.from(' {"a":1} ')])).ok).toBe(true);
  });

  it('arbitrary bytes behind the 4 bytes: never throws, and whatever reads validates whole', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc
            .tuple(
              fc.jsonValue({ maxDepth: 2 }),
              fc.jsonValue({ maxDepth: 2 }),
              fc.uint8Array({ maxLength: 20 }),
            )
            .map(([h, d, rest]) =>
              Buffer.concat([Buffer.from(`${JSON.stringify(h)}\n${JSON.stringify(d)}`), rest]),
            ),
          record.chain((r) =>
            fc.nat({ max: framed(r).length - 1 }).map((cut) => {
              // A good record with one byte flipped.
              const bytes = Buffer.from(framed(r).subarray(4));
              bytes[cut % bytes.length] = (bytes[cut % bytes.length]! + 1) % 256;
              return bytes;
            }),
          ),
        ),
        (rest) => {
          const r = parseDispatchInput(Buffer.concat([MAGIC, rest]));
          if (!r.ok) {
            expect(['empty', 'not_json', 'invalid']).toContain(r.reason);
            return;
          }
          expect(r.value.kind).toBe('event');
          if (r.value.kind !== 'event') return;
          expect(r.value.record.webhooks.length).toBeGreaterThan(0);
          // The bytes copied into payloads, taken without parsing, are one JSON object.
          const data: unknown = JSON.parse(r.value.dataBytes!.toString('utf8'));
          expect(typeof data === 'object' && data !== null && !Array.isArray(data)).toBe(true);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('a head that names a data of its own does not override the bytes', () => {
    const { data: _, ...head } = good;
    const value = Buffer.concat([
      MAGIC,
      Buffer.from(`${JSON.stringify({ ...head, data: { lie: true } })}\n{"a":1}`),
    ]);
    const r = parseDispatchInput(value);
    if (!r.ok || r.value.kind !== 'event') throw new Error('not read as a per-event record');
    // What the batcher copies into payloads (payloads.ts takes the bytes whenever they are there).
    expect(r.value.dataBytes?.toString()).toBe('{"a":1}');
  });
});
