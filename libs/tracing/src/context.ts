/**
 * Reading a W3C traceparent/tracestate from Kafka headers, which are producer input: any bytes, any
 * length, repeated. Pure and total: never throws, and says why a header is not usable so the caller can
 * start a new trace and count it. Follows W3C Trace Context level 1 §3.2 (version 00 exactly; a higher
 * version is read by its first four fields; version ff, all-zero ids and upper-case hex are invalid).
 */
import { type NewTraceReason, TRACE_HEADERS, TRACE_LIMITS } from './definitions.ts';

/** KafkaJS's header shape: a repeated header arrives as an array. */
export type RecordHeaders = Record<string, Buffer | string | (Buffer | string)[] | undefined>;

export interface TraceContext {
  traceId: string;
  spanId: string;
  /** Trace flags byte; bit 0 = sampled. */
  flags: number;
  /** The tracestate header as received, when it is one usable value. */
  state?: string;
}

export type ContextRead = { ok: true; context: TraceContext } | { ok: false; reason: NewTraceReason };

const V00 = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const FUTURE = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-|$)/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);
const PRINTABLE = /^[\x20-\x7e]*$/;

export function readTraceContext(headers: RecordHeaders | undefined): ContextRead {
  const raw = headers?.[TRACE_HEADERS.traceparent];
  if (raw === undefined) return { ok: false, reason: 'absent' };
  // W3C: more than one traceparent is invalid; which one was meant cannot be known.
  if (Array.isArray(raw) && raw.length !== 1)
    return { ok: false, reason: raw.length === 0 ? 'absent' : 'duplicated' };
  const one = Array.isArray(raw) ? raw[0]! : raw;
  if (one.length > TRACE_LIMITS.traceparentBytes) return { ok: false, reason: 'oversized' };
  const text = typeof one === 'string' ? one : one.toString('latin1');
  const m = V00.exec(text) ?? FUTURE.exec(text);
  if (!m) return { ok: false, reason: 'malformed' };
  const [traceId, spanId, flags] = m.length === 4 ? [m[1]!, m[2]!, m[3]!] : [m[2]!, m[3]!, m[4]!];
  // A future version may append fields; version 00 may not, and ff is forbidden.
  if (m.length !== 4 && (m[1] === 'ff' || m[1] === '00')) return { ok: false, reason: 'malformed' };
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return { ok: false, reason: 'malformed' };
  const context: TraceContext = { traceId, spanId, flags: Number.parseInt(flags, 16) };
  const state = tracestateOf(headers?.[TRACE_HEADERS.tracestate]);
  if (state !== undefined) context.state = state;
  return { ok: true, context };
}

/** A tracestate that is one printable value within the limit, else none (the trace goes on without it). */
function tracestateOf(raw: RecordHeaders[string]): string | undefined {
  if (raw === undefined || (Array.isArray(raw) && raw.length !== 1)) return undefined;
  const one = Array.isArray(raw) ? raw[0]! : raw;
  if (one.length === 0 || one.length > TRACE_LIMITS.tracestateBytes) return undefined;
  const text = typeof one === 'string' ? one : one.toString('latin1');
  return PRINTABLE.test(text) ? text : undefined;
}

export function formatTraceparent(c: Pick<TraceContext, 'traceId' | 'spanId' | 'flags'>): string {
  return `00-${c.traceId}-${c.spanId}-${(c.flags & 0xff).toString(16).padStart(2, '0')}`;
}
