/**
 * The tracing seam every stage calls. Its methods take objects the caller already holds (the Kafka
 * record, the batch) and positional values, so with tracing off a call is one no-op function call that
 * allocates nothing: TRACING_OFF returns undefined everywhere and the OpenTelemetry SDK is never
 * imported (startTracing loads it only when an endpoint or exporter is given).
 */
import type { StartTracingOptions, Tracing } from './types.ts';

const none = () => undefined;

export const TRACING_OFF: Tracing = Object.freeze({
  enabled: false,
  fanout: none,
  batches: none,
  attempt: none,
  retry: none,
  deadLetter: none,
  carry: none,
  shutdown: async () => {},
});

/** TRACING_OFF unless an endpoint or an exporter is given; only then is the SDK imported. */
export async function startTracing(options: StartTracingOptions): Promise<Tracing> {
  if (!options.exporter && options.config.otlpEndpoint === '') return TRACING_OFF;
  const { OtelTracing } = await import('./otel.ts');
  return new OtelTracing(options);
}
