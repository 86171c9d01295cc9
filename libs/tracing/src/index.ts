export { type TracingConfig, tracingSchema } from './config.ts';
export { formatTraceparent, type RecordHeaders, readTraceContext, type TraceContext } from './context.ts';
export { NEW_TRACE_REASONS, SPAN_NAMES, TRACE_HEADERS, TRACES_STARTED_METRIC } from './definitions.ts';
export {
  type BatchTraces,
  type Carrier,
  type StageSpan,
  type StartTracingOptions,
  startTracing,
  TRACING_OFF,
  type Tracing,
} from './tracing.ts';
