/**
 * One measured phase: write the phase's webhooks, wait until every service's table holds them,
 * produce the events (full speed or at a rate) while sampling the services' counters, wait until every
 * expected (event, webhook) pair has arrived, and turn the samples into a PhaseResult.
 */
import type { Webhook } from '@hookpost/contracts';
import type { EmailEvent, MtaProducer } from '@hookpost/events';
import { eventGenerator } from '@hookpost/loadgen';
import { generateSecret } from '@hookpost/sender';
import type { SubscriptionWriter } from '@hookpost/subscriptions';
import {
  ACTIVITY_MIX,
  domainId,
  eventId,
  hangs,
  subscribes,
  typeIndex,
  typesOfSlot,
  webhookId,
} from './layout.ts';
import { histogramQuantile, type Service, sum } from './procs.ts';
import type { Behaviour, PhaseStats, ReceiverHandle } from './receiver.ts';
import { activeRate, type PhaseResult, percentiles, type Series } from './report.ts';

export interface PhaseSpec {
  name: string;
  description: string;
  events: number;
  rate: number;
  windowMs: number;
  timeoutMs: number;
  /** Slow scenario: every tenth webhook never answers. */
  hanging: boolean;
  /** Retry scenario: this share of requests answers 500 (each batch at most 3 times). */
  failRate: number;
  /** Breaker scenario: every webhook (hanging ones too) on the first receiver origin. */
  oneOrigin?: boolean;
  /** The webhooks' `batch.max_events` (500 unless set). */
  maxEvents?: number;
}

export interface PhaseContext {
  webhooks: number;
  domains: number;
  writer: SubscriptionWriter;
  producer: MtaProducer;
  receiver: ReceiverHandle;
  services: Service[];
  /** Webhooks written so far in the run (every service's table must reach it). */
  written: number;
  log: (line: string) => void;
  /** No new pair for this long (beyond the window) fails the phase. */
  stallMs: number;
}

const CHUNK = 1000;
const SAMPLE_MS = 500;

/** A phase's webhooks (ids, domains, URLs and subscribed types from layout.ts) and their secrets. */
export function phaseWebhooks(
  ctx: Pick<PhaseContext, 'webhooks' | 'domains' | 'receiver'>,
  spec: PhaseSpec,
): { webhooks: Webhook[]; secrets: Record<string, string> } {
  const k = ctx.webhooks / ctx.domains;
  const secrets: Record<string, string> = {};
  const webhooks: Webhook[] = [];
  const now = Date.now();
  for (let d = 0; d < ctx.domains; d++) {
    for (let s = 0; s < k; s++) {
      const g = d * k + s;
      const hang = spec.hanging && hangs(d, s, k);
      const behaviour: Behaviour = hang ? 'hang' : spec.failRate > 0 ? 'flaky' : 'ok';
      const origins = spec.oneOrigin
        ? ctx.receiver.origins.slice(0, 1)
        : hang
          ? ctx.receiver.hangOrigins
          : ctx.receiver.origins;
      const secret = generateSecret();
      secrets[`${d}/${s}`] = secret;
      webhooks.push({
        id: webhookId(spec.name, d, s),
        account_id: `acct-${d}`,
        domain_id: domainId(spec.name, d),
        name: `bench ${spec.name} ${d}/${s}`,
        url: `${origins[(hang ? g / 10 : g) % origins.length]}/${spec.name}/${behaviour}/${d}/${s}`,
        events: typesOfSlot(s, k),
        enabled: true,
        status: 'active',
        status_reason: null,
        secrets: [{ value: secret, created_at: now, expires_at: null }],
        format: s % 2 ? 'jsonl' : 'json',
        batch: { max_events: spec.maxEvents ?? 500, window_ms: spec.windowMs },
        timeout_ms: spec.timeoutMs,
        auth: null,
        created_at: now,
        updated_at: now,
        version: 1,
      });
    }
  }
  return { webhooks, secrets };
}

async function writeWebhooks(ctx: PhaseContext, spec: PhaseSpec): Promise<Record<string, string>> {
  const { webhooks, secrets } = phaseWebhooks(ctx, spec);
  for (const webhook of webhooks) await ctx.writer.put(webhook);
  ctx.written += ctx.webhooks;
  // Read-your-writes from outside: every table reports its size; wait until all hold every webhook.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const sizes = await Promise.all(
      ctx.services.map(async (s) => sum(await s.scrape(), 'webhooks_subscriptions')),
    );
    if (sizes.every((n) => n >= ctx.written)) break;
    if (Date.now() > deadline)
      throw new Error(`subscription tables stuck at ${sizes.join(', ')} of ${ctx.written}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return secrets;
}

interface Sample {
  t: number;
  fanout: number;
  dispatched: number;
  batcher: number;
  batches: number;
  batchEvents: number;
  delivered: number;
  retries: number;
  pairs: number;
  memory: Map<string, Memory>;
  /** Every service's scrape (for the histograms over the phase: first and last sample). */
  scrapes: Map<string, number>[];
}

/** What a service holds, from prom-client's default metrics (MiB). */
export interface Memory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** Memory of C++ objects bound to JS (Buffers, ArrayBuffers: KafkaJS fetch and produce buffers). */
  external: number;
}

const MIB = 1024 * 1024;
function memoryOf(m: Map<string, number>): Memory {
  return {
    rss: sum(m, 'process_resident_memory_bytes') / MIB,
    heapUsed: sum(m, 'nodejs_heap_size_used_bytes') / MIB,
    heapTotal: sum(m, 'nodejs_heap_size_total_bytes') / MIB,
    external: sum(m, 'nodejs_external_memory_bytes') / MIB,
  };
}

/** Peak of each figure over the phase's samples, per service (the peaks need not coincide). */
function peakMemory(samples: Sample[]): Record<string, Memory> {
  const out: Record<string, Memory> = {};
  for (const s of samples) {
    for (const [name, m] of s.memory) {
      out[name] ??= { rss: 0, heapUsed: 0, heapTotal: 0, external: 0 };
      const p = out[name];
      for (const k of ['rss', 'heapUsed', 'heapTotal', 'external'] as const) p[k] = Math.max(p[k], m[k]);
    }
  }
  return out;
}

async function sampleOnce(ctx: PhaseContext, phase: string): Promise<Sample> {
  const t = Date.now();
  const all = await Promise.all(ctx.services.map((s) => s.scrape().then((m) => [s.name, m] as const)));
  const stats = await ctx.receiver.stats(phase);
  const of = (name: string) => new Map(all).get(name) ?? new Map<string, number>();
  const delivery = all.filter(([n]) => n.startsWith('delivery')).map(([, m]) => m);
  // A batcher reading the events itself (BATCHER_INPUT=events) keeps the fan-out's counters.
  const fan = ctx.services.some((s) => s.name === 'fanout') ? of('fanout') : of('batcher');
  return {
    t,
    fanout: sum(fan, 'webhooks_fanout_events_consumed_total'),
    dispatched: sum(fan, 'webhooks_fanout_dispatched_total'),
    batcher: sum(of('batcher'), 'webhooks_batcher_records_consumed_total'),
    // The fan-out's batches of one (webhooks at max_events 1) are batches too.
    batches:
      sum(of('batcher'), 'webhooks_batches_produced_total') +
      sum(fan, 'webhooks_fanout_single_batches_total'),
    batchEvents:
      sum(of('batcher'), 'webhooks_batch_size_events_sum') + sum(fan, 'webhooks_fanout_single_batches_total'),
    delivered: delivery.reduce(
      (n, m) => n + sum(m, 'webhooks_delivery_requests_total', 'outcome="delivered"'),
      0,
    ),
    retries: delivery.reduce((n, m) => n + sum(m, 'webhooks_delivery_retries_total'), 0),
    pairs: stats.pairs,
    memory: new Map(all.map(([n, m]) => [n, memoryOf(m)])),
    scrapes: all.map(([, m]) => m),
  };
}

export async function runPhase(ctx: PhaseContext, spec: PhaseSpec): Promise<PhaseResult> {
  const k = ctx.webhooks / ctx.domains;
  ctx.log(`phase ${spec.name} (${spec.description}): writing ${ctx.webhooks} webhooks`);
  const secrets = await writeWebhooks(ctx, spec);
  await ctx.receiver.setup({
    phase: spec.name,
    events: spec.events,
    perDomain: k,
    secrets,
    failRate: spec.failRate,
    maxFailures: 3,
  });

  const cpuBefore = new Map(ctx.services.map((s) => [s.name, s.stats().cpuSeconds]));
  // Each service's peak RSS over this phase alone (the run's peak says which service, not when).
  const peaksReset = ctx.services.map((s) => s.resetPeak()).every(Boolean);
  const samples: Sample[] = [await sampleOnce(ctx, spec.name)];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await new Promise((r) => setTimeout(r, SAMPLE_MS));
      samples.push(await sampleOnce(ctx, spec.name));
    }
  })();

  // Produce: ids `<phase>.<i>`, created_at stamped when the chunk is generated, right before its send.
  const generate = eventGenerator({
    domains: ctx.domains,
    mix: ACTIVITY_MIX,
    seed: spec.name.length * 7919 + spec.events,
    domainId: (d) => domainId(spec.name, d),
  });
  let expected = 0;
  let index = 0;
  const next = (): EmailEvent => {
    const e = generate();
    e.id = eventId(spec.name, index++);
    const t = typeIndex(e.type);
    const d = Number(e.domain_id.slice(e.domain_id.lastIndexOf('-') + 1));
    for (let s = 0; s < k; s++) if (subscribes(t, s, k) && !(spec.hanging && hangs(d, s, k))) expected++;
    return e;
  };
  const chunk = spec.rate > 0 ? Math.max(1, Math.min(CHUNK, Math.round(spec.rate / 20))) : CHUNK;
  const started = Date.now();
  let lastReport = started;
  for (let sent = 0; sent < spec.events; ) {
    if (spec.rate > 0) {
      const due = started + (sent / spec.rate) * 1000;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    }
    const n = Math.min(chunk, spec.events - sent);
    await ctx.producer.send(Array.from({ length: n }, next));
    sent += n;
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      const last = samples.at(-1)!;
      ctx.log(
        `  produced ${sent}/${spec.events}; fan-out ${last.fanout - samples[0]!.fanout}, pairs ${last.pairs}`,
      );
    }
  }
  const produced = Date.now();
  const produceSeconds = (produced - started) / 1000;
  ctx.log(`  produced ${spec.events} in ${produceSeconds.toFixed(1)} s; ${expected} pairs expected`);

  // Wait for every pair; a phase that stops making progress fails with how far it got.
  let stats: PhaseStats = await ctx.receiver.stats(spec.name);
  let progressAt = Date.now();
  let progress = stats.pairs;
  while (stats.pairs < expected) {
    await new Promise((r) => setTimeout(r, 250));
    stats = await ctx.receiver.stats(spec.name);
    if (stats.pairs !== progress) {
      progress = stats.pairs;
      progressAt = Date.now();
    }
    if (Date.now() - lastReport > 10_000) {
      lastReport = Date.now();
      ctx.log(`  arrived ${stats.pairs}/${expected} pairs`);
    }
    if (Date.now() - progressAt > ctx.stallMs + spec.windowMs)
      throw new Error(
        `phase ${spec.name} stalled: ${stats.pairs}/${expected} pairs after ${((Date.now() - started) / 1000).toFixed(0)} s`,
      );
  }
  sampling = false;
  await sampler;
  samples.push(await sampleOnce(ctx, spec.name));
  stats = await ctx.receiver.stats(spec.name);

  const series = (f: (s: Sample) => number): Series => samples.map((s) => ({ t: s.t, v: f(s) }));
  const fan = activeRate(series((s) => s.fanout));
  const disp = activeRate(series((s) => s.dispatched));
  const bat = activeRate(series((s) => s.batcher));
  const del = activeRate(series((s) => s.delivered));
  const pairs = activeRate(series((s) => s.pairs));
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const e2eSeconds = (stats.lastArrival - started) / 1000;
  const cpuSeconds = Object.fromEntries(
    ctx.services.map((s) => [s.name, s.stats().cpuSeconds - (cpuBefore.get(s.name) ?? 0)]),
  );
  const peakRssMiB = peaksReset
    ? Object.fromEntries(ctx.services.map((s) => [s.name, s.phasePeakMiB()]))
    : undefined;
  const latencyMs = percentiles(await ctx.receiver.latencies(spec.name));
  // The parts of that latency, from the services' histograms over the phase (seconds).
  const part = (name: string, ...having: string[]) => {
    const at = (q: number) => histogramQuantile(first.scrapes, last.scrapes, name, q, ...having);
    return { p50: at(0.5), p99: at(0.99) };
  };
  const latencyParts = {
    window: part('webhooks_batch_fill_seconds'),
    wait: part('webhooks_delivery_batch_wait_seconds'),
    request: part('webhooks_delivery_request_duration_seconds', 'tier="main"'),
    age: part('webhooks_delivery_event_age_seconds', 'tier="main"'),
  };
  ctx.log(
    `  done: ${stats.pairs} pairs in ${e2eSeconds.toFixed(1)} s; latency p50/p95/p99 ${latencyMs.p50}/${latencyMs.p95}/${latencyMs.p99} ms`,
  );
  return {
    name: spec.name,
    description: spec.description,
    events: spec.events,
    rate: spec.rate,
    windowMs: spec.windowMs,
    produce: { seconds: produceSeconds, perSecond: Math.round(spec.events / produceSeconds) },
    pairs: {
      expected,
      arrived: stats.pairs,
      duplicates: stats.duplicates,
      unexpected: stats.unexpected,
      badSignatures: stats.badSignatures,
    },
    endToEnd: {
      seconds: e2eSeconds,
      eventsPerSecond: Math.round(spec.events / e2eSeconds),
      pairsPerSecond: Math.round(stats.pairs / e2eSeconds),
    },
    stages: {
      fanout: { eventsPerSecond: fan.perSecond, dispatchPerSecond: disp.perSecond },
      batcher: {
        recordsPerSecond: bat.perSecond,
        // Windows release batches in bursts, so this is over the whole phase, not while busy.
        batchesPerSecond: (last.batches - first.batches) / e2eSeconds,
        meanBatchSize: (last.batchEvents - first.batchEvents) / Math.max(1, last.batches - first.batches),
        batches: last.batches - first.batches,
      },
      delivery: {
        batchesPerSecond: del.perSecond,
        pairsPerSecond: pairs.perSecond,
        retries: last.retries - first.retries,
        injectedFailures: stats.injectedFailures,
      },
    },
    latencyMs,
    latencyParts,
    cpuSeconds,
    memoryMiB: peakMemory(samples),
    ...(peakRssMiB && { peakRssMiB }),
  };
}
