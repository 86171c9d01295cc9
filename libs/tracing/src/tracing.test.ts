import { execFileSync } from 'node:child_process';
import type { BatchRecord } from '@hookpost/contracts';
import { createRegistry } from '@hookpost/metrics';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TracingConfig } from './config.ts';
import { SPAN_NAMES, TRACES_STARTED_METRIC } from './definitions.ts';
import { startTracing, TRACING_OFF } from './tracing.ts';

const OFF: TracingConfig = { otlpEndpoint: '', serviceName: '', exportDelayMs: 5000, maxQueuedSpans: 2048 };
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const tp = (trace: string, span: string) => `00-${trace}-${span}-01`;
const source = { topic: 'email.events', partition: 0 };

function batch(ids: string[]): BatchRecord {
  return {
    batch_id: 'b1',
    webhook_id: 'wh',
    format: 'json',
    body: '[]',
    event_ids: ids,
    first_enqueued_at: 1_700_000_000_000,
    oldest_event_at: 1_700_000_000_000,
    created_at: 1_700_000_001_500,
  };
}

async function traced() {
  const exporter = new InMemorySpanExporter();
  const registry = createRegistry();
  const tracing = await startTracing({ config: OFF, service: 'test', registry, exporter });
  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const started = async () => (await registry.getSingleMetric(TRACES_STARTED_METRIC)!.get()).values;
  return { tracing, exporter, spans, started };
}

/**
 * Loads the lib in a fresh Node process (after @hookpost/metrics, which every service has loaded) with a resolve hook that records every @opentelemetry module,
 * starts tracing with `endpoint`, calls every hook, and prints what was loaded and what came back.
 */
function probe(endpoint: string): { loaded: string[]; off: boolean; results: unknown[] } {
  const script = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ resolve(s, c, next) { const r = next(s, c); if (r.url.includes('@opentelemetry')) loaded.push(r.url); return r; } });
    // prom-client loads @opentelemetry/api for its exemplars: whatever loads after it is ours.
    const { createRegistry } = await import('@hookpost/metrics');
    loaded.length = 0;
    const { startTracing, TRACING_OFF } = await import('@hookpost/tracing');
    const t = await startTracing({ config: { otlpEndpoint: ${JSON.stringify(endpoint)}, serviceName: '', exportDelayMs: 5000, maxQueuedSpans: 10 }, service: 'probe', registry: createRegistry() });
    const m = { offset: '1', headers: { traceparent: '00-${TRACE}-00f067aa0ba902b7-01' } };
    const b = { batch_id: 'b', webhook_id: 'w', format: 'json', body: '[]', event_ids: ['e'], first_enqueued_at: 1, oldest_event_at: 1, created_at: 2 };
    const results = [t.fanout({ topic: 't', partition: 0 }, m), t.batches(), t.attempt(m, b, 1, 'main'), t.retry(undefined, 'x', 1, 1), t.deadLetter(m, 'exhausted', 'w'), t.carry(m.headers)];
    console.log(JSON.stringify({ loaded, off: t === TRACING_OFF, results: results.map((r) => r === undefined ? null : typeof r) }));
    // No shutdown: with tracing on it would try to export to the unreachable endpoint.
    process.exit(0);
  `;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop()!);
}

describe('tracing off (the default)', () => {
  it('loads no OpenTelemetry module and every hook returns undefined (no span, no headers)', () => {
    const off = probe('');
    expect(off).toEqual({ loaded: [], off: true, results: [null, null, null, null, null, null] });
    // The probe can tell: with an endpoint the SDK is loaded and the hooks answer.
    const on = probe('http://127.0.0.1:1');
    expect(on.off).toBe(false);
    expect(on.loaded.some((u) => u.includes('@opentelemetry/sdk-trace'))).toBe(true);
    expect(on.results.every((r) => r === 'object')).toBe(true);
    // Two fresh Node processes: seconds on a loaded machine.
  }, 60_000);

  it('is TRACING_OFF without an endpoint, whose hooks allocate nothing', async () => {
    const t = await startTracing({ config: OFF, service: 'x', registry: createRegistry() });
    expect(t).toBe(TRACING_OFF);
    expect(Object.isFrozen(t)).toBe(true);
    expect(t.fanout(source, { offset: '0' })).toBeUndefined();
    expect(t.batches()).toBeUndefined();
  });
});

describe('tracing on', () => {
  it('continues the MTA trace through fan-out, batch, attempt, retry and dead letter', async () => {
    const { tracing, spans } = await traced();
    const fan = tracing.fanout(source, {
      offset: '5',
      headers: { traceparent: tp(TRACE, '00f067aa0ba902b7') },
    })!;
    fan.end({ 'hookpost.outcome': 'matched' });
    expect(fan.traceId).toBe(TRACE);
    const book = tracing.batches()!;
    book.add('wh', 'e1', fan.headers);
    const b = book.close(batch(['e1']));
    expect(b.traceId).toBe(TRACE);
    const attempt = tracing.attempt({ headers: b.headers }, batch(['e1']), 1, 'main')!;
    attempt.end({ 'http.response.status_code': 500 }, 'HTTP 500');
    const retry = tracing.retry(attempt, '1s', 5, 1)!;
    const second = tracing.attempt({ headers: retry.headers }, batch(['e1']), 2, '1s')!;
    second.end();
    tracing.deadLetter(second, 'exhausted', 'wh');
    const all = Object.values(SPAN_NAMES).map((n) => spans(n));
    expect(all.map((s) => s.length)).toEqual([1, 1, 2, 1, 1]);
    for (const s of all.flat()) expect(s.spanContext().traceId).toBe(TRACE);
    expect(spans(SPAN_NAMES.fanout)[0]!.parentSpanContext?.spanId).toBe('00f067aa0ba902b7');
    expect(spans(SPAN_NAMES.deadLetter)[0]!.parentSpanContext?.spanId).toBe(second.traceparent.slice(36, 52));
    // The batch span covers its window: from the first event's arrival to the close.
    expect(spans(SPAN_NAMES.batch)[0]!.startTime).toEqual([1_700_000_000, 0]);
    expect(spans(SPAN_NAMES.batch)[0]!.duration).toEqual([1, 500_000_000]);
  });

  it('a batch span continues its first event and links the others, up to 128, counting the rest', async () => {
    const { tracing, spans } = await traced();
    const book = tracing.batches()!;
    const ids = Array.from({ length: 200 }, (_, i) => `e${i}`);
    ids.forEach((id, i) => {
      book.add('wh', id, {
        traceparent: tp(TRACE.slice(0, 28) + i.toString(16).padStart(4, '0'), '00f067aa0ba902b7'),
      });
    });
    book.add('other', 'e0', { traceparent: tp(TRACE, '1111111111111111') });
    const b = book.close(batch(ids));
    expect(b.traceId).toBe(`${TRACE.slice(0, 28)}0000`);
    const span = spans(SPAN_NAMES.batch)[0]!;
    expect(span.links).toHaveLength(128);
    expect(span.links[0]!.context.traceId).toBe(`${TRACE.slice(0, 28)}0001`);
    expect(span.attributes['hookpost.trace.links_dropped']).toBe(199 - 128);
    expect(span.attributes['messaging.batch.message_count']).toBe(200);
  });

  it('a hostile traceparent never fails the fan-out: a new trace starts and is counted', async () => {
    const { tracing, started } = await traced();
    const hostile = fc.oneof(
      fc.string(),
      fc.uint8Array({ maxLength: 400 }).map((a) => Buffer.from(a)),
      fc.array(fc.constant(tp(TRACE, '00f067aa0ba902b7')), { minLength: 2, maxLength: 4 }),
      fc.constant(`${tp(TRACE, '00f067aa0ba902b7')}${' '.repeat(300)}`),
    );
    let runs = 0;
    fc.assert(
      fc.property(hostile, (traceparent) => {
        const span = tracing.fanout(source, { offset: '1', headers: { traceparent } })!;
        span.end();
        runs += 1;
        expect(span.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      }),
      { numRuns: 500 },
    );
    const counted = (await started()).filter((v) => v.labels.stage === 'fanout');
    const invalid = counted.filter((v) => v.labels.reason !== 'absent').reduce((n, v) => n + v.value, 0);
    // fast-check may generate a valid traceparent by chance; those continue their trace.
    expect(invalid).toBeGreaterThan(runs * 0.9);
    expect(counted.map((v) => v.labels.reason).sort()).toEqual([
      'absent',
      'duplicated',
      'malformed',
      'oversized',
    ]);
  });

  it('an unsampled MTA trace is continued but not recorded', async () => {
    const { tracing, exporter } = await traced();
    const span = tracing.fanout(source, {
      offset: '1',
      headers: { traceparent: `00-${TRACE}-00f067aa0ba902b7-00` },
    })!;
    span.end();
    expect(span.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-00$`));
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});
