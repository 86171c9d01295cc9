/**
 * The tracing seam every stage calls. Its methods take objects the caller already holds (the Kafka
 * record, the batch) and positional values, so with tracing off a call is one no-op function call that
 * allocates nothing: TRACING_OFF returns undefined everywhere and the OpenTelemetry SDK is never
 * imported (startTracing loads it only when an endpoint or exporter is given).
 */
import type { BatchRecord, DeadLetterReason } from '@hookpost/contracts';
import type { Registry } from '@hookpost/metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from './config.ts';
import type { RecordHeaders } from './context.ts';

/** A record's headers, where its trace context travels (KafkaJS's message fits). */
export interface Carrier {
  headers?: RecordHeaders;
}

export interface StageSpan {
  /** traceparent (and tracestate) of this span: put them on every record this stage writes for it. */
  readonly headers: Readonly<Record<string, string>>;
  readonly traceparent: string;
  readonly traceId: string;
  /** Ends the span; `error` marks it failed with that message. */
  end(attributes?: Record<string, string | number | boolean>, error?: string | null): void;
}

/** One batcher input partition's memory of the trace context of each event in an open batch. */
export interface BatchTraces {
  /** Notes the context on the dispatch record of `eventId` for `webhookId`. */
  add(webhookId: string, eventId: string, headers: RecordHeaders | undefined): void;
  /** The batch's span, already ended: child of its first event's trace, linked to the others'. */
  close(batch: BatchRecord): StageSpan;
  /** Forgets everything (abort, revocation): the records are consumed again. */
  clear(): void;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Fan-out of one MTA record: continues its traceparent, or starts a trace (counted by reason). */
  fanout(
    source: { topic: string; partition: number },
    message: Carrier & { offset: string },
  ): StageSpan | undefined;
  /** Per batcher input partition. */
  batches(): BatchTraces | undefined;
  /** One HTTP attempt of the batch on `record` (a batches or retry record: its traceparent is the parent). */
  attempt(record: Carrier, batch: BatchRecord, attempt: number, tier: string): StageSpan | undefined;
  /** A failed attempt moved to `tier`; ended at once. Its headers go on the retry record. */
  retry(parent: StageSpan | undefined, tier: string, dueAt: number, attempt: number): StageSpan | undefined;
  /** A dead letter written for the attempt (or, before any attempt, for the record); ended at once. */
  deadLetter(
    parent: StageSpan | Carrier | undefined,
    reason: DeadLetterReason,
    webhookId: string | null,
  ): StageSpan | undefined;
  /** A record's usable trace headers passed on as they are, when this stage makes no span for it. */
  carry(headers: RecordHeaders | undefined): Record<string, string> | undefined;
  /** Exports what is queued and stops (bounded by the exporter's timeout). */
  shutdown(): Promise<void>;
}

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

export interface StartTracingOptions {
  config: TracingConfig;
  /** Service name (fanout, batcher, delivery); the resource's service.name unless configured. */
  service: string;
  registry: Registry;
  /** Replaces the OTLP exporter (tests read spans with InMemorySpanExporter); turns tracing on. */
  exporter?: SpanExporter;
}

/** TRACING_OFF unless an endpoint or an exporter is given; only then is the SDK imported. */
export async function startTracing(options: StartTracingOptions): Promise<Tracing> {
  if (!options.exporter && options.config.otlpEndpoint === '') return TRACING_OFF;
  const { OtelTracing } = await import('./otel.ts');
  return new OtelTracing(options);
}
