import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dispatchPayloadText, dispatchText, valueEnd } from './dispatch-text.ts';
import { parseDispatchRecord } from './record-schemas.ts';
import type { DispatchRecord } from './records.ts';

const text = fc.string({ unit: 'binary', maxLength: 10 });
const payload = fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
const record: fc.Arbitrary<DispatchRecord> = fc.record({
  event_id: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
  webhook_id: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
  type: fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
  event_created_at: fc.nat(),
  dispatched_at: fc.nat(),
  payload,
});

/** Texts that parse and validate as a dispatch record, but not all in the writer's form. */
const variants = fc.tuple(record, payload, fc.nat({ max: 6 })).map(([r, other, kind]) => {
  const { payload: p, ...fields } = r;
  const canonical = JSON.stringify(r);
  const inner = canonical.slice(0, -1);
  switch (kind) {
    case 0:
      return canonical;
    case 1: // the payload twice: the later one wins in JSON.parse
      return `${inner},"payload":${JSON.stringify(other)}}`;
    case 2: // a field repeated after the payload with the same value
      return `${inner},"event_id":${JSON.stringify(r.event_id)}}`;
    case 3: // an extra member
      return `${inner},"x":${JSON.stringify(other)}}`;
    case 4: // whitespace
      return `${inner} }`;
    case 5: // pretty-printed
      return JSON.stringify(r, null, 2);
    default: // payload first
      return JSON.stringify({ payload: p, ...fields });
  }
});

describe('dispatch record text', () => {
  it('dispatchText is JSON.stringify of the record for the payload JSON.stringify wrote', () => {
    fc.assert(
      fc.property(record, (r) => {
        const { payload: p, ...fields } = r;
        expect(dispatchText(fields, JSON.stringify(p))).toBe(JSON.stringify(r));
        expect(dispatchPayloadText(JSON.stringify(r), r)).toBe(JSON.stringify(p));
      }),
      { numRuns: 500 },
    );
  });

  it('whatever valid record text it is given, the cut is undefined or exactly the parsed payload', () => {
    fc.assert(
      fc.property(variants, (t) => {
        const parsed = parseDispatchRecord(Buffer.from(t));
        if (!parsed.ok) throw new Error(parsed.error);
        const cut = dispatchPayloadText(t, parsed.value);
        if (cut !== undefined) expect(JSON.parse(cut)).toEqual(parsed.value.payload);
        const { event_id, webhook_id, type, event_created_at, dispatched_at, payload: p } = parsed.value;
        const six = { event_id, webhook_id, type, event_created_at, dispatched_at, payload: p };
        // The writer's form is always cut.
        if (t === JSON.stringify(six)) expect(cut).toBe(JSON.stringify(p));
      }),
      { numRuns: 1000 },
    );
  });

  it('valueEnd finds the end of the object or array at an index of valid JSON, strings and escapes skipped', () => {
    fc.assert(
      fc.property(fc.oneof(payload, fc.array(fc.jsonValue())), text, (v, after) => {
        const json = JSON.stringify(v);
        const s = `${json}${JSON.stringify(after)}`;
        expect(valueEnd(s, 0)).toBe(json.length);
      }),
    );
    expect(valueEnd('"x"', 0)).toBe(-1);
    expect(valueEnd('{"a":"\\\\"}', 0)).toBe(10);
    expect(valueEnd('{"a":"\\"}"}', 0)).toBe(11);
  });
});
