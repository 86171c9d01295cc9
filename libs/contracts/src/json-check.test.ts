import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJson } from './json-check.ts';

/** What JSON.parse says of the same bytes: not JSON, or JSON and whether it is an object. */
function parseVerdict(b: Buffer): { ok: false } | { ok: true; object: boolean } {
  try {
    const v: unknown = JSON.parse(b.toString('utf8'));
    return { ok: true, object: typeof v === 'object' && v !== null && !Array.isArray(v) };
  } catch {
    return { ok: false };
  }
}

function verdict(b: Buffer): { ok: false } | { ok: true; object: boolean } {
  const c = checkJson(b);
  return c.ok ? { ok: true, object: c.object } : { ok: false };
}

/** JSON text of any value, in JSON.stringify's form or indented (whitespace between every token). */
const jsonText = fc.oneof(
  fc.json({ depthSize: 'medium' }),
  fc.jsonValue().map((v) => JSON.stringify(v, null, 2)),
  fc.jsonValue().map((v) => ` \t\r\n${JSON.stringify(v)}\n `),
);

/** The characters JSON's grammar turns on, so random text hits its edges often. */
const jsonish = fc.string({
  unit: fc.constantFrom(...'{}[]:,"\\/ -+.0123456789eEtruefalsnbu\t\n\r\u0001\u001fé😀aA'),
  maxLength: 40,
});

describe('checkJson', () => {
  it('agrees with JSON.parse on every JSON text, whatever its shape and spacing', () => {
    fc.assert(
      fc.property(jsonText, (text) => {
        const b = Buffer.from(text);
        expect(verdict(b)).toEqual(parseVerdict(b));
      }),
      { numRuns: 3000 },
    );
  });

  it('agrees with JSON.parse on JSON with one byte changed, cut or inserted', () => {
    const edit = jsonText.chain((text) => {
      const b = Buffer.from(text);
      return fc.tuple(
        fc.constant(b),
        fc.nat({ max: b.length }),
        fc.integer({ min: 0, max: 255 }),
        fc.constantFrom('flip', 'cut', 'insert'),
      );
    });
    fc.assert(
      fc.property(edit, ([b, at, byte, how]) => {
        const i = Math.min(at, b.length - 1);
        const changed =
          how === 'flip'
            ? Buffer.from(b).fill(byte, i, i + 1)
            : how === 'cut'
              ? Buffer.concat([b.subarray(0, at), b.subarray(at + 1)])
              : Buffer.concat([b.subarray(0, at), Buffer.from([byte]), b.subarray(at)]);
        // UTF-8 is checked apart (isUtf8): compare only text that decodes as it is.
        if (!Buffer.from(changed.toString('utf8')).equals(changed)) return;
        expect(verdict(changed)).toEqual(parseVerdict(changed));
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with JSON.parse on arbitrary text made of its grammar, and on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.oneof(jsonish, fc.string(), fc.string({ unit: 'grapheme' })), (text) => {
        const b = Buffer.from(text);
        expect(verdict(b)).toEqual(parseVerdict(b));
      }),
      { numRuns: 5000 },
    );
  });

  it('each escape, literal and number form, and the faults at their edges', () => {
    const good = [
      '{}',
      '[]',
      ' {"a":[1,-0,0.5,1e5,1E+5,-1.25e-3,true,false,null,"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\uD800"]} ',
      '"x"',
      '0',
      '{"":{"":[[],{}]}}',
    ];
    const bad = [
      '',
      ' ',
      '{',
      '{"a"}',
      '{"a":}',
      '{"a":1,}',
      '[1,]',
      '[,1]',
      '{,}',
      '01',
      '1.',
      '.5',
      '-',
      '1e',
      '1e+',
      '+1',
      'tru',
      'nul',
      'True',
      '"\\u12"',
      '"\\x"',
      '"a',
      '"\u0001"',
      '{} {}',
      '{}]',
      '[}',
      '{"a":1]',
      '{1:2}',
      "{'a':1}",
      '[1 2]',
      'NaN',
      '\u00a0{}',
    ];
    for (const t of good) expect(verdict(Buffer.from(t)), t).toEqual(parseVerdict(Buffer.from(t)));
    for (const t of good) expect(checkJson(Buffer.from(t)).ok, t).toBe(true);
    for (const t of bad) expect(checkJson(Buffer.from(t)).ok, t).toBe(false);
  });

  it('names the position of the fault, at or before the end', () => {
    expect(checkJson(Buffer.from('{"a":1,}'))).toEqual({ ok: false, at: 7 });
    expect(checkJson(Buffer.from('{"a":'))).toEqual({ ok: false, at: 5 });
    expect(checkJson(Buffer.from('[1] x'))).toEqual({ ok: false, at: 4 });
    fc.assert(
      fc.property(jsonish, (text) => {
        const b = Buffer.from(text);
        const c = checkJson(b);
        if (!c.ok) expect(c.at).toBeGreaterThanOrEqual(0);
        if (!c.ok) expect(c.at).toBeLessThanOrEqual(b.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('nesting far past the call stack: 200 000 levels, closed and unclosed, without throwing', () => {
    const deep = 200_000;
    const nested = Buffer.from(`${'{"a":['.repeat(deep)}1${']}'.repeat(deep)}`);
    expect(checkJson(nested)).toEqual({ ok: true, object: true });
    expect(checkJson(nested.subarray(0, nested.length - 1)).ok).toBe(false);
    const arrays = Buffer.from(`${'['.repeat(deep)}${']'.repeat(deep)}`);
    expect(checkJson(arrays)).toEqual({ ok: true, object: false });
    expect(checkJson(Buffer.from('['.repeat(deep))).ok).toBe(false);
  });

  it('a large object (10 000 members, 1 MiB of strings) reads whole, and a fault in its last byte is found', () => {
    const big: Record<string, string> = {};
    for (let i = 0; i < 10_000; i++) big[`k${i}`] = 'é"\\x'.repeat(25);
    const b = Buffer.from(JSON.stringify(big));
    expect(b.length).toBeGreaterThan(1_000_000);
    expect(checkJson(b)).toEqual({ ok: true, object: true });
    expect(checkJson(b.subarray(0, b.length - 1))).toEqual({ ok: false, at: b.length - 1 });
  });
});
