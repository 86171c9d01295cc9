/** Names and limits of the tracing seam, in one place. */

/** W3C Trace Context header names, on Kafka records and on the webhook POST alike. */
export const TRACE_HEADERS = { traceparent: 'traceparent', tracestate: 'tracestate' } as const;

export const TRACE_LIMITS = {
  /**
   * A version-00 traceparent is 55 characters; later versions may append fields, so a little more is
   * read, and anything past this is not a traceparent but someone's payload (counted as oversized).
   */
  traceparentBytes: 256,
  /** W3C: a tracestate longer than 512 characters may be dropped whole (the trace itself is kept). */
  tracestateBytes: 512,
  /** Span links of one batch span; OpenTelemetry's default link limit, so the SDK drops none silently. */
  maxLinks: 128,
} as const;

/** One span per stage; the names stay stable so dashboards and receivers' queries can rely on them. */
export const SPAN_NAMES = {
  fanout: 'fanout match',
  batch: 'batch close',
  attempt: 'delivery attempt',
  retry: 'retry scheduled',
  deadLetter: 'dead letter',
} as const;

export type Stage = keyof typeof SPAN_NAMES;

/** Why a stage started a new trace instead of continuing the record's (a bounded metric label). */
export const NEW_TRACE_REASONS = ['absent', 'malformed', 'oversized', 'duplicated'] as const;
export type NewTraceReason = (typeof NEW_TRACE_REASONS)[number];

export const TRACES_STARTED_METRIC = 'webhooks_traces_started_total';
