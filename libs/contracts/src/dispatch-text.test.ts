import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dispatchText } from './dispatch-text.ts';
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

describe('dispatch record text', () => {
  it('dispatchText is JSON.stringify of the record for the payload JSON.stringify wrote', () => {
    fc.assert(
      fc.property(record, (r) => {
        const { payload: p, ...fields } = r;
        expect(dispatchText(fields, JSON.stringify(p))).toBe(JSON.stringify(r));
      }),
      { numRuns: 500 },
    );
  });
});
