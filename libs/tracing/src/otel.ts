/**
 * Tracing on: the OpenTelemetry SDK behind the Tracing seam. Imported only by startTracing when an
 * endpoint or exporter is configured, so a process with tracing off never loads this file or the SDK.
 * No global provider or context manager is installed: every span gets its parent explicitly, from a
 * record header or from the span of the previous stage in the same process.
 */
import type { BatchRecord, DeadLetterReason } from '@hookpost/contracts';
import { Counter } from '@hookpost/metrics';
import {
  type Context,
  createTraceState,
  type Link,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { formatTraceparent, type RecordHeaders, readTraceContext, type TraceContext } from './context.ts';
import {
  NEW_TRACE_REASONS,
  type NewTraceReason,
  SPAN_NAMES,
  type Stage,
  TRACE_HEADERS,
  TRACE_LIMITS,
  TRACES_STARTED_METRIC,
} from './definitions.ts';
import type { BatchTraces, Carrier, StageSpan, StartTracingOptions, Tracing } from './types.ts';

class OtelStageSpan implements StageSpan {
  readonly headers: Readonly<Record<string, string>>;
  readonly traceparent: string;
  readonly traceId: string;

  readonly span: Span;

  constructor(span: Span) {
    this.span = span;
    const c = span.spanContext();
    this.traceId = c.traceId;
    this.traceparent = formatTraceparent({ traceId: c.traceId, spanId: c.spanId, flags: c.traceFlags });
    const state = c.traceState?.serialize();
    this.headers = state
      ? { [TRACE_HEADERS.traceparent]: this.traceparent, [TRACE_HEADERS.tracestate]: state }
      : { [TRACE_HEADERS.traceparent]: this.traceparent };
  }

  end(attributes?: Record<string, string | number | boolean>, error?: string | null): void {
    if (attributes) this.span.setAttributes(attributes);
    if (error) this.span.setStatus({ code: SpanStatusCode.ERROR, message: error });
    this.span.end();
  }
}

function spanContextOf(c: TraceContext): SpanContext {
  const sc: SpanContext = { traceId: c.traceId, spanId: c.spanId, traceFlags: c.flags, isRemote: true };
  if (c.state !== undefined) sc.traceState = createTraceState(c.state);
  return sc;
}

const KAFKA = { 'messaging.system': 'kafka' } as const;

export class OtelTracing implements Tracing {
  readonly enabled = true;
  private readonly provider: TracerProvider;
  private readonly tracer: Tracer;
  private readonly started: Counter<'stage' | 'reason'>;

  constructor(options: StartTracingOptions) {
    const { config } = options;
    const processor = options.exporter
      ? new SimpleSpanProcessor({ exporter: options.exporter })
      : new BatchSpanProcessor({
          exporter: new OTLPTraceExporter({ url: `${config.otlpEndpoint.replace(/\/+$/, '')}/v1/traces` }),
          scheduledDelayMillis: config.exportDelayMs,
          maxQueueSize: config.maxQueuedSpans,
        });
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({
        'service.name': config.serviceName || `hookpost-${options.service}`,
      }),
      spanProcessors: [processor],
    });
    this.tracer = this.provider.getTracer('hookpost');
    const existing = options.registry.getSingleMetric(TRACES_STARTED_METRIC);
    this.started =
      (existing as Counter<'stage' | 'reason'> | undefined) ??
      new Counter({
        name: TRACES_STARTED_METRIC,
        help: 'Traces a stage started because the record it read carried no usable W3C trace context, by reason (absent, malformed, oversized, duplicated)',
        labelNames: ['stage', 'reason'],
        registers: [options.registry],
      });
    for (const reason of NEW_TRACE_REASONS) this.started.inc({ stage: 'fanout', reason }, 0);
  }

  fanout(source: { topic: string; partition: number }, message: Carrier & { offset: string }) {
    const read = readTraceContext(message.headers);
    const span = this.start('fanout', SpanKind.CONSUMER, this.contextOf('fanout', read), {
      ...KAFKA,
      'messaging.operation.type': 'process',
      'messaging.destination.name': source.topic,
      'messaging.destination.partition.id': String(source.partition),
      'messaging.kafka.offset': Number(message.offset),
    });
    if (!read.ok) span.span.setAttribute('hookpost.trace.new_reason', read.reason);
    return span;
  }

  batches(): BatchTraces {
    const open = new Map<string, TraceContext>();
    return {
      add: (webhookId, eventId, headers) => {
        const read = readTraceContext(headers);
        if (read.ok) open.set(`${webhookId}\u0000${eventId}`, read.context);
        else this.started.inc({ stage: 'batch', reason: read.reason });
      },
      close: (batch) => {
        const contexts: TraceContext[] = [];
        const seen = new Set<string>();
        for (const id of batch.event_ids) {
          const key = `${batch.webhook_id}\u0000${id}`;
          const c = open.get(key);
          open.delete(key);
          if (c && !seen.has(`${c.traceId}-${c.spanId}`)) {
            seen.add(`${c.traceId}-${c.spanId}`);
            contexts.push(c);
          }
        }
        return this.batchSpan(batch, contexts);
      },
      clear: () => open.clear(),
    };
  }

  /**
   * A batch's span continues the trace of its first event (one event, one trace end to end) and links
   * to every other event's context, as OpenTelemetry's messaging conventions do for a batch; the POST
   * then carries this trace. Links past the cap are counted on the span, not kept.
   */
  private batchSpan(batch: Omit<BatchRecord, 'body'>, contexts: TraceContext[]): StageSpan {
    const [first, ...rest] = contexts;
    const links: Link[] = rest.slice(0, TRACE_LIMITS.maxLinks).map((c) => ({ context: spanContextOf(c) }));
    const parent = first ? trace.setSpanContext(ROOT_CONTEXT, spanContextOf(first)) : ROOT_CONTEXT;
    const span = new OtelStageSpan(
      this.tracer.startSpan(
        SPAN_NAMES.batch,
        {
          kind: SpanKind.PRODUCER,
          startTime: batch.first_enqueued_at,
          links,
          attributes: {
            ...KAFKA,
            'messaging.operation.type': 'create',
            'messaging.batch.message_count': batch.event_ids.length,
            'hookpost.batch_id': batch.batch_id,
            'hookpost.webhook_id': batch.webhook_id,
            'hookpost.trace.links_dropped': Math.max(0, rest.length - links.length),
          },
        },
        parent,
      ),
    );
    span.span.end(batch.created_at);
    return span;
  }

  attempt(record: Carrier, batch: BatchRecord, attempt: number, tier: string) {
    const parent = this.contextOf('attempt', readTraceContext(record.headers));
    return this.start('attempt', SpanKind.CLIENT, parent, {
      'http.request.method': 'POST',
      'messaging.batch.message_count': batch.event_ids.length,
      'hookpost.batch_id': batch.batch_id,
      'hookpost.webhook_id': batch.webhook_id,
      'hookpost.attempt': attempt,
      'hookpost.tier': tier,
    });
  }

  retry(parent: StageSpan | undefined, tier: string, dueAt: number, attempt: number) {
    const span = this.start('retry', SpanKind.INTERNAL, this.parentOf('retry', parent), {
      'hookpost.tier': tier,
      'hookpost.due_at': dueAt,
      'hookpost.attempt': attempt,
    });
    span.end();
    return span;
  }

  deadLetter(parent: StageSpan | Carrier | undefined, reason: DeadLetterReason, webhookId: string | null) {
    const span = this.start('deadLetter', SpanKind.INTERNAL, this.parentOf('deadLetter', parent), {
      'hookpost.dead_letter.reason': reason,
      'hookpost.webhook_id': webhookId ?? '',
    });
    span.end(undefined, reason);
    return span;
  }

  carry(headers: RecordHeaders | undefined): Record<string, string> | undefined {
    const read = readTraceContext(headers);
    if (!read.ok) return undefined;
    const out: Record<string, string> = { [TRACE_HEADERS.traceparent]: formatTraceparent(read.context) };
    if (read.context.state !== undefined) out[TRACE_HEADERS.tracestate] = read.context.state;
    return out;
  }

  /** A collector that is down at shutdown costs the last spans, never the service's clean exit. */
  async shutdown(): Promise<void> {
    await this.provider.shutdown().catch(() => {});
  }

  private start(stage: Stage, kind: SpanKind, parent: Context, attributes: Record<string, string | number>) {
    return new OtelStageSpan(this.tracer.startSpan(SPAN_NAMES[stage], { kind, attributes }, parent));
  }

  private parentOf(stage: Stage, parent: StageSpan | Carrier | undefined): Context {
    if (parent instanceof OtelStageSpan) return trace.setSpan(ROOT_CONTEXT, parent.span);
    return this.contextOf(stage, readTraceContext((parent as Carrier | undefined)?.headers));
  }

  private contextOf(stage: Stage, read: ReturnType<typeof readTraceContext>): Context {
    if (read.ok) return trace.setSpanContext(ROOT_CONTEXT, spanContextOf(read.context));
    this.started.inc({ stage, reason: read.reason satisfies NewTraceReason });
    return ROOT_CONTEXT;
  }
}
