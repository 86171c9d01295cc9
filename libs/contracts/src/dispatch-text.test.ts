import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventDispatchText, payloadText } from './dispatch-text.ts';
import { parseDispatchInput } from './record-schemas.ts';
import type { EventDispatchRecord } from './records.ts';

// Quotes, backslashes, control and non-ASCII characters, lone surrogates.
const text = fc.string({ unit: 'binary', maxLength: 10 });
const id = fc.string({ unit: 'binary', minLength: 1, maxLength: 10 });
const data = fc.dictionary(text, fc.jsonValue({ maxDepth: 3 }), { maxKeys: 5 });
const record: fc.Arbitrary<EventDispatchRecord> = fc.record({
  event_id: id,
  type: id,
  domain_id: id,
  created_at: text,
  event_created_at: fc.nat(),
  dispatched_at: fc.nat(),
  webhooks: fc.array(fc.record({ id, url: text }), { minLength: 1, maxLength: 4 }),
  data,
});

describe('dispatch record text', () => {
  it('eventDispatchText is JSON.stringify of the record for the data JSON.stringify wrote, and it parses as the per-event form', () => {
    fc.assert(
      fc.property(record, (r) => {
        const { data: d, ...fields } = r;
        const written = eventDispatchText(fields, JSON.stringify(d));
        expect(written).toBe(JSON.stringify(r));
        const parsed = parseDispatchInput(Buffer.from(written));
        expect(parsed).toMatchObject({ ok: true, value: { kind: 'event' } });
      }),
      { numRuns: 500 },
    );
  });

  it("payloadText is JSON.stringify of each webhook's MailerSend payload", () => {
    fc.assert(
      fc.property(record, (r) => {
        for (const w of r.webhooks) {
          const expected = {
            type: r.type,
            domain_id: r.domain_id,
            created_at: r.created_at,
            webhook_id: w.id,
            url: w.url,
            data: r.data,
          };
          expect(payloadText(r, w, JSON.stringify(r.data))).toBe(JSON.stringify(expected));
        }
      }),
      { numRuns: 500 },
    );
  });
});
