export { type TracingConfig, tracingSchema } from './config.ts';
export { SPAN_NAMES, TRACES_STARTED_METRIC } from './definitions.ts';
export { startTracing, TRACING_OFF } from './tracing.ts';
export type { StageSpan, Tracing } from './types.ts';
