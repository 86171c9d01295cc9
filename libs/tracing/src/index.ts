export { type TracingConfig, tracingSchema } from './config.ts';
export { formatTraceparent, type RecordHeaders, readTraceContext, type TraceContext } from './context.ts';
export { NEW_TRACE_REASONS, SPAN_NAMES, TRACE_HEADERS, TRACES_STARTED_METRIC } from './definitions.ts';
export { startTracing, TRACING_OFF } from './tracing.ts';
export type { BatchTraces, Carrier, StageSpan, StartTracingOptions, Tracing } from './types.ts';
