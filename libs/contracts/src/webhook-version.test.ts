import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WEBHOOK_VERSION_HEADER, webhookVersionHeader, webhookVersionOf } from './webhook-version.ts';

const of = (value: Buffer | string | (Buffer | string)[] | undefined) =>
  webhookVersionOf({ [WEBHOOK_VERSION_HEADER]: value });

describe('webhookVersionOf', () => {
  it('reads back what webhookVersionHeader wrote, as a string or as the bytes KafkaJS hands over', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (version) => {
        const [value] = Object.values(webhookVersionHeader(version));
        expect(of(value)).toBe(version);
        expect(of(Buffer.from(value!))).toBe(version);
      }),
    );
  });

  it('takes a missing header, or no headers at all, as absent', () => {
    expect(webhookVersionOf(undefined)).toBeNull();
    expect(webhookVersionOf({})).toBeNull();
    expect(of(undefined)).toBeNull();
  });

  it('takes anything but one positive decimal integer as absent', () => {
    for (const bad of [
      '',
      '0',
      '-1',
      '+1',
      ' 5',
      '5 ',
      '1e3',
      '0x10',
      '1.0',
      '01',
      'NaN',
      '9007199254740993',
    ])
      expect(of(bad), JSON.stringify(bad)).toBeNull();
    expect(of(['3', '4'])).toBeNull();
    expect(of([Buffer.from('3')])).toBeNull();
  });

  it('never throws on arbitrary header bytes and shapes: a version or absent, nothing else', () => {
    const value = fc.oneof(
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 64 }),
      fc.stringMatching(/^\d{1,20}$/),
      fc.array(
        fc.oneof(
          fc.string(),
          fc.uint8Array().map((b) => Buffer.from(b)),
        ),
        { maxLength: 3 },
      ),
      fc.constant(undefined),
    );
    fc.assert(
      fc.property(
        value,
        fc.dictionary(
          fc.string(),
          fc.oneof(
            fc.string(),
            fc.uint8Array().map((b) => Buffer.from(b)),
          ),
        ),
        (v, others) => {
          const n = webhookVersionOf({ ...others, [WEBHOOK_VERSION_HEADER]: v });
          expect(n === null || (Number.isSafeInteger(n) && n >= 1)).toBe(true);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
