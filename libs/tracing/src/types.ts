/** The tracing seam's types (kept apart so the SDK-backed implementation can import them without a cycle). */
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
  close(batch: Omit<BatchRecord, 'body'>): StageSpan;
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

export interface StartTracingOptions {
  config: TracingConfig;
  /** Service name (fanout, batcher, delivery); the resource's service.name unless configured. */
  service: string;
  registry: Registry;
  /** Replaces the OTLP exporter (tests read spans with InMemorySpanExporter); turns tracing on. */
  exporter?: SpanExporter;
}
