/**
 * One event's trace from the MTA's traceparent to the receiver, through the real broker: the real
 * fan-out and batcher processes export their spans over OTLP/HTTP to a collector this test runs, and
 * delivery (in-process) to an in-memory exporter. Two events share one batch for webhook A, whose
 * receiver fails once (so a retry is traced); webhook B always fails and its batch ends in the DLQ.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DeadLetter } from '@hookpost/contracts';
import { SecretBox } from '@hookpost/contracts';
import type { DeliveryHandle } from '@hookpost/delivery';
import { createRegistry } from '@hookpost/metrics';
import type { Receiver } from '@hookpost/sender';
import { SPAN_NAMES, startTracing } from '@hookpost/tracing';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { describe, expect } from 'vitest';
import { provision, startInProcess, TEST_TIERS } from '../delivery/support.ts';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';
import { mta, type Tail } from '../support/pipeline.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';

interface SeenSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  links: { traceId: string; spanId: string }[];
  attributes: Record<string, unknown>;
}

/** An OTLP/HTTP JSON collector: what the exporters of the spawned services send. */
async function collector(): Promise<{ url: string; spans: SeenSpan[]; server: Server }> {
  const spans: SeenSpan[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const doc = JSON.parse(body) as {
        resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
      };
      for (const rs of doc.resourceSpans)
        for (const ss of rs.scopeSpans)
          for (const s of ss.spans) {
            const attributes: Record<string, unknown> = {};
            for (const a of (s.attributes ?? []) as { key: string; value: Record<string, unknown> }[])
              attributes[a.key] = Object.values(a.value)[0];
            spans.push({
              name: String(s.name),
              traceId: String(s.traceId),
              spanId: String(s.spanId),
              parentSpanId: String(s.parentSpanId ?? ''),
              links: ((s.links ?? []) as { traceId: string; spanId: string }[]).map((l) => ({
                traceId: l.traceId,
                spanId: l.spanId,
              })),
              attributes,
            });
          }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, server };
}

const T1 = 'aaaaaaaaaaaaaaaa1111111111111111';
const T2 = 'bbbbbbbbbbbbbbbb2222222222222222';
const MTA_SPAN = 'cccccccccccccccc';
const keys = SecretBox.generateSpec();
const it = integrationTest({ partitions: 1, retryTiers: TEST_TIERS.map((t) => t.name) });
let env: TestEnv;
let receiver: Receiver;
let otlp: Awaited<ReturnType<typeof collector>>;
let memory: InMemorySpanExporter;
let delivery: DeliveryHandle;
let subs: Awaited<ReturnType<typeof subscriptions>>;
let dlq: Tail<DeadLetter>;

// The fixtures close all of these (the last opened first); the test reaches them through these names.
it.beforeAll(async ({ env: e, receiver: r, owned, tailOf }) => {
  [env, receiver] = [e, r];
  await provision(env);
  otlp = owned.own(await collector(), (c) => c.server.close());
  memory = new InMemorySpanExporter();
  const tracing = owned.own(
    await startTracing({
      config: { otlpEndpoint: '', serviceName: '', exportDelayMs: 100, maxQueuedSpans: 2048 },
      service: 'delivery',
      registry: createRegistry(),
      exporter: memory,
    }),
    (t) => t.shutdown(),
  );
  subs = await subscriptions(env, new SecretBox(keys));
  owned.own(subs.writer, (w) => w.close());
  delivery = owned.own(await startInProcess(env, keys, {}, createRegistry(), tracing), (d) => d.stop());
  dlq = await tailOf<DeadLetter>(env.catalog.topics.dlq.name);
});

describe('one trace from the MTA to the receiver', () => {
  it('covers fan-out, batch, attempts, retry and dead letter, and the POST carries it', async ({
    producer,
    spawn,
    opened,
  }) => {
    const domain = uniq('dom');
    const batch = { max_events: 2, window_ms: 30_000 };
    const a = makeWebhook({ domain_id: domain, batch });
    a.url = `${receiver.url}/fail/1/500/${a.id}`;
    const b = makeWebhook({ domain_id: domain, batch });
    b.url = `${receiver.url}/status/500/${b.id}`;
    for (const w of [a, b]) {
      const at = await subs.writer.put(w);
      await delivery.table.waitForOffset(at.partition, at.offset);
    }
    const common = {
      TOPIC_PREFIX: env.prefix,
      TOPIC_PARTITIONS: '1',
      KAFKA_BROKERS: env.brokers,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      SUBSCRIPTION_ENCRYPTION_KEYS: keys,
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      TRACING_EXPORT_DELAY_MS: '100',
    };
    const processes = ['fanout', 'batcher'].map((name) => spawn(name, common));
    await Promise.all(processes.map((p) => p.ready()));

    // The MTA: two events with their own traceparent, in one send (one partition: one batch per webhook).
    const events = await mta(env);
    opened.own(events.producer, (p) => p.close());
    const [e1, e2] = [events.make(domain, 'activity.delivered'), events.make(domain, 'activity.delivered')];
    await producer.send(
      env.catalog.topics.events.name,
      [e1!, e2!].map((e, i) => ({
        key: e.domain_id,
        value: events.producer.encode(e),
        headers: { traceparent: `00-${i === 0 ? T1 : T2}-${MTA_SPAN}-01` },
      })),
    );

    await waitFor(
      () => receiver.requests.filter((r) => r.path.endsWith(a.id) && r.status === 200).length > 0,
      {
        what: 'A delivered after one failure',
      },
    );
    const letter = await waitFor(
      () => dlq.records.find((r) => r.value.webhook_id === b.id && r.value.reason === 'exhausted'),
      { what: 'B dead-lettered' },
    );

    const local = () =>
      memory.getFinishedSpans().map((s) => ({
        name: s.name,
        traceId: s.spanContext().traceId,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId ?? '',
      }));
    // The services export every 100 ms: wait until both batch spans and both fan-out spans arrived.
    await waitFor(() => otlp.spans.filter((s) => s.name === SPAN_NAMES.batch).length >= 2, {
      what: 'batch spans exported over OTLP',
    });
    await waitFor(() => otlp.spans.filter((s) => s.name === SPAN_NAMES.fanout).length >= 2);
    const trace1 = [...otlp.spans, ...local()].filter((s) => s.traceId === T1);
    const names = new Set(trace1.map((s) => s.name));
    expect([...names].sort()).toEqual(Object.values(SPAN_NAMES).sort());

    const fan1 = otlp.spans.find((s) => s.name === SPAN_NAMES.fanout && s.traceId === T1)!;
    const fan2 = otlp.spans.find((s) => s.name === SPAN_NAMES.fanout && s.traceId === T2)!;
    expect(fan1.parentSpanId).toBe(MTA_SPAN);
    expect(fan2.parentSpanId).toBe(MTA_SPAN);
    // Each webhook's batch continues the first event and links the second.
    const batches = otlp.spans.filter((s) => s.name === SPAN_NAMES.batch);
    expect(batches.map((s) => s.attributes['hookpost.webhook_id']).sort()).toEqual([a.id, b.id].sort());
    for (const s of batches) {
      expect(s.traceId).toBe(T1);
      expect(s.parentSpanId).toBe(fan1.spanId);
      expect(s.links).toEqual([{ traceId: T2, spanId: fan2.spanId }]);
    }
    // A: attempt, retry, attempt. B: one attempt per tier and the first, three retries, a dead letter.
    const count = (name: string) => trace1.filter((s) => s.name === name).length;
    expect(count(SPAN_NAMES.attempt)).toBe(2 + 1 + TEST_TIERS.length);
    expect(count(SPAN_NAMES.retry)).toBe(1 + TEST_TIERS.length);
    expect(count(SPAN_NAMES.deadLetter)).toBe(1);

    // The receiver got the attempt span's traceparent: the same trace, the span of that attempt.
    const attempts = new Set(
      local()
        .filter((s) => s.name === SPAN_NAMES.attempt)
        .map((s) => s.spanId),
    );
    const posts = receiver.requests.filter((r) => r.path.endsWith(a.id) || r.path.endsWith(b.id));
    expect(posts.filter((r) => r.path.endsWith(a.id))).toHaveLength(2);
    expect(posts).toHaveLength(2 + 1 + TEST_TIERS.length);
    for (const r of posts) {
      const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(String(r.headers.traceparent));
      expect(m?.[1]).toBe(T1);
      expect(attempts.has(m![2]!)).toBe(true);
    }
    // The dead letter carries the trace too: its span is the dead-letter span.
    const dead = local().find((s) => s.name === SPAN_NAMES.deadLetter)!;
    expect(letter.headers.traceparent).toBe(`00-${T1}-${dead.spanId}-01`);
  });
});
