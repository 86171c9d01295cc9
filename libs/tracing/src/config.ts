/** Tracing configuration keys, spread into the schema of every service that traces. */

export const tracingSchema = {
  otlpEndpoint: {
    doc: 'OTLP/HTTP endpoint to export spans to (the collector base URL; /v1/traces is appended). Empty: tracing is off and costs nothing: no OpenTelemetry SDK is loaded, no span is made, no trace header is read or written.',
    format: String,
    default: '',
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
  },
  serviceName: {
    doc: 'service.name resource attribute of the exported spans; empty: hookpost-<service>.',
    format: String,
    default: '',
    env: 'OTEL_SERVICE_NAME',
  },
  exportDelayMs: {
    doc: "Longest a finished span waits in memory before it is exported (the batch span processor's delay).",
    format: 'nat',
    default: 5000,
    env: 'TRACING_EXPORT_DELAY_MS',
  },
  maxQueuedSpans: {
    doc: 'Finished spans kept while the collector is slow or down; past it new spans are dropped (memory stays bounded, delivery never waits on tracing).',
    format: 'nat',
    default: 2048,
    env: 'TRACING_MAX_QUEUED_SPANS',
  },
};

export interface TracingConfig {
  otlpEndpoint: string;
  serviceName: string;
  exportDelayMs: number;
  maxQueuedSpans: number;
}
