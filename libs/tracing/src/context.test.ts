import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTraceparent, readTraceContext } from './context.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';
const VALID = `00-${TRACE}-${SPAN}-01`;

/** Any header value KafkaJS can hand over: text, bytes, repeated, huge. */
const headerValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.constant('x'.repeat(1_000_000)),
  fc.constantFrom(VALID, `00-${TRACE}-${SPAN}-01-extra`, `ff-${TRACE}-${SPAN}-01`, VALID.toUpperCase()),
);

describe('readTraceContext', () => {
  it('reads a valid traceparent and its tracestate', () => {
    const r = readTraceContext({ traceparent: Buffer.from(VALID), tracestate: 'congo=t61rcWkgMzE' });
    expect(r).toEqual({
      ok: true,
      context: { traceId: TRACE, spanId: SPAN, flags: 1, state: 'congo=t61rcWkgMzE' },
    });
    expect(formatTraceparent({ traceId: TRACE, spanId: SPAN, flags: 1 })).toBe(VALID);
  });

  it('reads a future version by its first four fields, never version 00 with extra fields', () => {
    expect(readTraceContext({ traceparent: `01-${TRACE}-${SPAN}-00-what-comes` }).ok).toBe(true);
    expect(readTraceContext({ traceparent: `00-${TRACE}-${SPAN}-01-x` })).toEqual({
      ok: false,
      reason: 'malformed',
    });
    expect(readTraceContext({ traceparent: `ff-${TRACE}-${SPAN}-01` })).toEqual({
      ok: false,
      reason: 'malformed',
    });
  });

  it('says why a header is unusable: absent, malformed, oversized, duplicated', () => {
    expect(readTraceContext(undefined)).toEqual({ ok: false, reason: 'absent' });
    expect(readTraceContext({})).toEqual({ ok: false, reason: 'absent' });
    expect(readTraceContext({ traceparent: [VALID, VALID] })).toEqual({ ok: false, reason: 'duplicated' });
    expect(readTraceContext({ traceparent: [Buffer.from(VALID)] }).ok).toBe(true);
    expect(readTraceContext({ traceparent: 'x'.repeat(257) })).toEqual({ ok: false, reason: 'oversized' });
    expect(readTraceContext({ traceparent: Buffer.alloc(5_000_000) })).toEqual({
      ok: false,
      reason: 'oversized',
    });
    for (const bad of [
      `00-${'0'.repeat(32)}-${SPAN}-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      VALID.toUpperCase(),
      ` ${VALID}`,
      '',
    ])
      expect(readTraceContext({ traceparent: bad })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('drops a tracestate that is repeated, too long or not printable, and keeps the trace', () => {
    for (const tracestate of [['a=1', 'b=2'], 'a='.padEnd(513, 'x'), 'a=\u0001', ''])
      expect(readTraceContext({ traceparent: VALID, tracestate })).toEqual({
        ok: true,
        context: { traceId: TRACE, spanId: SPAN, flags: 1 },
      });
  });

  it('never throws on any headers, and a context it returns is one a traceparent can carry', () => {
    fc.assert(
      fc.property(fc.option(headerValue), fc.option(headerValue), (traceparent, tracestate) => {
        const headers: Record<string, never> = {};
        if (traceparent !== null) (headers as Record<string, unknown>).traceparent = traceparent;
        if (tracestate !== null) (headers as Record<string, unknown>).tracestate = tracestate;
        const r = readTraceContext(headers);
        if (r.ok) {
          expect(formatTraceparent(r.context)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/);
          expect((r.context.state ?? '').length).toBeLessThanOrEqual(512);
        } else expect(['absent', 'malformed', 'oversized', 'duplicated']).toContain(r.reason);
      }),
      { numRuns: 2000 },
    );
  });
});
