/**
 * The fan-out's tracing hook under hostile MTA headers: whatever the traceparent header holds (bytes,
 * huge, repeated), every event is still dispatched, each dispatch record carries a valid traceparent,
 * and each unusable header is counted as a new trace.
 */
import type { Webhook } from '@hookpost/contracts';
import type { EmailEvent } from '@hookpost/events';
import type { KafkaRecord, OutputRecord, PartitionControl } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { createLogger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
import { startTracing, TRACES_STARTED_METRIC } from '@hookpost/tracing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fanoutHandler } from './handler.ts';
import { fanoutMetrics } from './metrics.ts';

const event: EmailEvent = eventGenerator({ domains: 1, seed: 3, mix: { 'activity.delivered': 1 } })();
const webhook = { id: 'wh', url: 'https://example.com/h', status: 'active' } as Webhook;
const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const hostile = fc.oneof(
  fc.string(),
  fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
  fc.array(fc.constantFrom(VALID, 'garbage'), { minLength: 2, maxLength: 3 }),
  fc.constant(Buffer.alloc(2_000_000, 0x30)),
  fc.constant(undefined),
);

describe('fan-out tracing with hostile traceparent headers', () => {
  it('dispatches every event with a valid traceparent and counts each unusable header', async () => {
    const registry = createRegistry();
    const exporter = new InMemorySpanExporter();
    const tracing = await startTracing({
      config: { otlpEndpoint: '', serviceName: '', exportDelayMs: 100, maxQueuedSpans: 10 },
      service: 'fanout',
      registry,
      exporter,
    });
    const handler = fanoutHandler(
      {
        decode: async () => ({ ok: true, value: event, schemaId: 1 }),
        match: () => [webhook],
        topics: { dispatch: 'dispatch', dlq: 'dlq' },
        now: () => 1,
        tracing,
      },
      fanoutMetrics(registry),
      createLogger({ name: 'test', level: 'silent' }),
    )({ topic: 'email.events', partition: 0 } as PartitionControl);

    await fc.assert(
      fc.asyncProperty(fc.array(hostile, { minLength: 1, maxLength: 20 }), async (headers) => {
        const sent: OutputRecord[] = [];
        const messages = headers.map(
          (h, i) =>
            ({
              offset: String(i),
              key: null,
              value: Buffer.from('x'),
              headers: h === undefined ? {} : { traceparent: h },
            }) as unknown as KafkaRecord,
        );
        await handler.onMessages(messages, { send: async (r) => void sent.push(...r) }, async () => {});
        expect(sent.map((r) => r.topic)).toEqual(messages.map(() => 'dispatch'));
        for (const r of sent) expect(r.headers?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      }),
      { numRuns: 200 },
    );
    const started = (await registry.getSingleMetric(TRACES_STARTED_METRIC)!.get()).values;
    const total = started.reduce((n, v) => n + v.value, 0);
    const spans = exporter.getFinishedSpans().length;
    const continued = exporter.getFinishedSpans().filter((s) => s.parentSpanContext !== undefined).length;
    // Every span either continued a valid header or started a counted new trace.
    expect(total + continued).toBe(spans);
    expect(total).toBeGreaterThan(0);
    await tracing.shutdown();
  });
});
