/** Turning samples into figures, and figures into the Markdown table, the JSON file and results.md. */
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import type { DeliveryAlone } from './delivery-alone.ts';
import type { FanoutAlone } from './fanout-alone.ts';
import type { PeerResult } from './peer.ts';
import type { Memory } from './phase.ts';
import type { ProcStats } from './procs.ts';

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  samples: number;
}

export function percentiles(values: Float64Array): Percentiles {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    p50: Math.round(at(0.5)),
    p95: Math.round(at(0.95)),
    p99: Math.round(at(0.99)),
    max: Math.round(sorted.at(-1) ?? Number.NaN),
    samples: sorted.length,
  };
}

/** A counter sampled over time. */
export type Series = { t: number; v: number }[];

/**
 * Rate while the stage was busy: from the last sample before the counter first moved to the first
 * sample at its final value, so idle time before and after (e.g. waiting for a window) is left out.
 */
export function activeRate(series: Series): { count: number; seconds: number; perSecond: number } {
  const first = series[0];
  const end = series.at(-1);
  if (!first || !end || end.v === first.v) return { count: 0, seconds: 0, perSecond: 0 };
  let t0 = first.t;
  for (const s of series) {
    if (s.v !== first.v) break;
    t0 = s.t;
  }
  const t1 = series.find((s) => s.v === end.v)!.t;
  const seconds = Math.max(0.001, (t1 - t0) / 1000);
  return { count: end.v - first.v, seconds, perSecond: Math.round((end.v - first.v) / seconds) };
}

export interface PhaseResult {
  name: string;
  description: string;
  events: number;
  /** Target produce rate, 0 for full speed. */
  rate: number;
  windowMs: number;
  produce: { seconds: number; perSecond: number };
  pairs: { expected: number; arrived: number; duplicates: number; unexpected: number; badSignatures: number };
  /** From the first event produced to the last pair arriving. */
  endToEnd: { seconds: number; eventsPerSecond: number; pairsPerSecond: number };
  stages: {
    fanout: { eventsPerSecond: number; dispatchPerSecond: number };
    batcher: { recordsPerSecond: number; batchesPerSecond: number; meanBatchSize: number; batches: number };
    delivery: { batchesPerSecond: number; pairsPerSecond: number; retries: number; injectedFailures: number };
  };
  latencyMs: Percentiles;
  /** The parts of the latency from the services' histograms (seconds; null: nothing observed). */
  latencyParts?: Record<'window' | 'wait' | 'request' | 'age', { p50: number | null; p99: number | null }>;
  cpuSeconds: Record<string, number>;
  /** Per service, the peak of each memory figure over the phase's samples (every 500 ms). */
  memoryMiB: Record<string, Memory>;
  /** Per service, the kernel's peak RSS over the phase (VmHWM reset at its start); absent if refused. */
  peakRssMiB?: Record<string, number>;
}

export interface RunResult {
  date: string;
  commit: string;
  machine: { cores: number; memoryGiB: number; cpu: string };
  options: Record<string, unknown>;
  wallSeconds: number;
  baseline: {
    consume: { count: number; seconds: number; perSecond: number };
    produce: { count: number; seconds: number; perSecond: number };
  };
  phases: PhaseResult[];
  services: Record<string, ProcStats>;
  headline: {
    e2eVsRawConsume: number;
    e2eVsRawProduce: number;
    /** The fan-out's rate in the throughput phase, sharing the machine with the rest of the pipeline. */
    fanoutVsRawConsume: number;
    /** The fan-out alone on the same input (bench/fanout-alone.ts), as the raw consume is measured. */
    fanoutAloneVsRawConsume?: number;
  };
  fanoutAlone?: FanoutAlone | null;
  /** Delivery alone at one event per request (bench/delivery-alone.ts; `--phases …,dl`). */
  deliveryAlone?: DeliveryAlone | null;
  /** Per event of the throughput phase: offsets and bytes per internal topic, CPU µs per service. */
  tpPerEvent: {
    topics: Record<string, { offsets: number; bytes: number | null }>;
    cpuMicros: Record<string, number>;
  } | null;
  /** The peer phases, kafka-hooks first (the ratios' base). */
  peers: PeerResult[];
  notes: string[];
}

const f = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–');
const r2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '–');

export function markdown(run: RunResult): string {
  const lines: string[] = [];
  const h = run.headline;
  lines.push(
    `### ${run.date} · ${run.commit} · ${run.machine.cores} cores, ${run.machine.memoryGiB} GiB · N=${f(run.phases[0]?.events ?? 0)}`,
    '',
    `**Headline (pipeline / raw, same run): end to end ${r2(h.e2eVsRawConsume)}× raw consume, ${r2(h.e2eVsRawProduce)}× raw produce; fan-out stage ${r2(h.fanoutAloneVsRawConsume ?? Number.NaN)}× raw consume alone, ${r2(h.fanoutVsRawConsume)}× in the pipeline.**`,
    '',
    `Raw KafkaJS consume + Avro decode: ${f(run.baseline.consume.perSecond)} events/s (${f(run.baseline.consume.count)}); raw MtaProducer: ${f(run.baseline.produce.perSecond)} events/s (${f(run.baseline.produce.count)})${
      run.fanoutAlone
        ? `; fan-out alone on the tp input: ${f(run.fanoutAlone.eventsPerSecond)} events/s (${f(run.fanoutAlone.events)} in ${run.fanoutAlone.seconds.toFixed(2)} s${run.fanoutAlone.passes ? `, ${run.fanoutAlone.passes} passes interleaved with the raw consume's` : ''}, ${run.fanoutAlone.cpuMicrosPerEvent.toFixed(1)} CPU µs per event, peak RSS ${run.fanoutAlone.peakRssMiB} MiB)`
        : ''
    }.`,
    '',
    '| phase | events | rate | window | pairs (dup/unexp/bad sig) | e2e events/s | fan-out ev/s | batcher rec/s | delivery batches/s (pairs/s) | batches/s, mean size | latency p50/p95/p99 ms | retries |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | --- | --- | --- | ---: |',
  );
  for (const p of run.phases) {
    const s = p.stages;
    lines.push(
      `| ${p.name}: ${p.description} | ${f(p.events)} | ${p.rate ? `${f(p.rate)}/s` : 'full'} | ${p.windowMs / 1000} s | ` +
        `${f(p.pairs.arrived)}/${f(p.pairs.expected)} (${p.pairs.duplicates}/${p.pairs.unexpected}/${p.pairs.badSignatures}) | ` +
        `${f(p.endToEnd.eventsPerSecond)} | ${f(s.fanout.eventsPerSecond)} | ${f(s.batcher.recordsPerSecond)} | ` +
        `${f(s.delivery.batchesPerSecond)} (${f(s.delivery.pairsPerSecond)}) | ${r2(s.batcher.batchesPerSecond)}, ${r2(s.batcher.meanBatchSize)} | ` +
        `${f(p.latencyMs.p50)}/${f(p.latencyMs.p95)}/${f(p.latencyMs.p99)} | ${s.delivery.retries} |`,
    );
  }
  lines.push(
    '',
    '| service | CPU s (first phase) | CPU s (run) | peak RSS MiB (run) | peak RSS MiB by phase |',
    '| --- | ---: | ---: | ---: | --- |',
  );
  for (const [name, st] of Object.entries(run.services)) {
    lines.push(
      `| ${name} | ${r2(run.phases[0]?.cpuSeconds[name] ?? Number.NaN)} | ${r2(st.cpuSeconds)} | ${f(st.peakRssMiB)} | ${phasePeaks(run, name)} |`,
    );
  }
  const first = run.phases[0];
  if (first) lines.push('', ...memoryTable(first));
  if (run.tpPerEvent) lines.push('', ...perEventTable(run.tpPerEvent));
  if (run.peers.length > 0) lines.push('', ...peerTable(run.peers));
  const dl = run.deliveryAlone;
  if (dl)
    lines.push(
      '',
      `Delivery alone at one event per request (one webhook, its batches of one written beforehand, the bench receiver; median of ${dl.rounds.length} rounds, each between the receiver's 10 % and 90 %): ${f(dl.requestsPerSecond)} requests/s, ${dl.cpuMicrosPerRequest.toFixed(1)} CPU µs per request (rounds ${dl.rounds.map((r) => r.cpuMicrosPerRequest.toFixed(1)).join(' / ')}); the receiver ${dl.receiverCpuMicrosPerRequest.toFixed(1)} µs per request.`,
    );
  if (run.notes.length > 0) lines.push('', ...run.notes.map((n) => `- ${n}`));
  lines.push('', `Wall time ${f(run.wallSeconds)} s.`);
  return lines.join('\n');
}

/**
 * Where a service's run-wide peak came from: its peak in each phase (VmHWM reset at the phase's
 * start), and the worst of the peer phase's hookpost rounds through the same pipeline (a second
 * pipeline, started for the other input, has processes of the same names: its rows say theirs).
 */
function phasePeaks(run: RunResult, service: string): string {
  const parts = run.phases
    .filter((p) => p.peakRssMiB?.[service] !== undefined)
    .map((p) => `${p.name} ${f(p.peakRssMiB![service]!)}`);
  const peer = run.peers
    .filter((p) => p.pipeline === run.options.input)
    .map((p) => p.servicePeaksMiB?.[service])
    .filter((v): v is number => v !== undefined);
  if (peer.length > 0) parts.push(`peer ${f(Math.max(...peer))}`);
  return parts.length > 0 ? parts.join(', ') : '–';
}

/** What dominates each service's memory in the first phase: V8 heap or external (Buffers). */
function memoryTable(p: PhaseResult): string[] {
  const lines = [
    `Memory in ${p.name}, peak of the 500 ms samples (MiB; external = Buffers and ArrayBuffers outside the V8 heap):`,
    '',
    '| service | RSS | heap used | heap total | external |',
    '| --- | ---: | ---: | ---: | ---: |',
  ];
  for (const [name, m] of Object.entries(p.memoryMiB)) {
    lines.push(`| ${name} | ${f(m.rss)} | ${f(m.heapUsed)} | ${f(m.heapTotal)} | ${f(m.external)} |`);
  }
  return lines;
}

/** What one event of the throughput phase cost: CPU per stage, records and bytes per internal topic. */
function perEventTable(t: NonNullable<RunResult['tpPerEvent']>): string[] {
  const lines = [
    `CPU µs per event in tp: ${Object.entries(t.cpuMicros)
      .map(([k, v]) => `${k} ${f(v)}`)
      .join(', ')}.`,
    '',
    '| internal topic (tp) | offsets per event (records + transaction markers) | bytes per event on disk |',
    '| --- | ---: | ---: |',
  ];
  for (const [topic, v] of Object.entries(t.topics)) {
    if (v.offsets === 0) continue;
    lines.push(`| ${topic} | ${r2(v.offsets)} | ${v.bytes === null ? '–' : f(v.bytes)} |`);
  }
  return lines;
}

/** The side-by-side table, with ratios against the first row (kafka-hooks) of the same run. */
function peerTable(peers: PeerResult[]): string[] {
  const base = peers[0]!;
  const lines = [
    `Side by side (same broker, events and receiver; ratios against ${base.system} in this run, the systems interleaved in rounds; CPU of every process of the system, the broker's included; the receiver's beside it, not counted, as it shares the cores):`,
    '',
    '| system | mode | events | events/s delivered | × peer | CPU ms per event | × peer | receiver CPU ms per event | latency p50/p99 ms | peak RSS MiB |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |',
  ];
  for (const p of peers) {
    lines.push(
      `| ${p.system} | ${p.mode} | ${f(p.events)}${p.rounds && p.rounds > 1 ? ` (${p.rounds} rounds)` : ''} | ${f(p.eventsPerSecond)} | ${r2(p.eventsPerSecond / base.eventsPerSecond)} | ` +
        `${p.cpuMsPerEvent.toFixed(3)} | ${r2(p.cpuMsPerEvent / base.cpuMsPerEvent)} | ${p.receiverCpuMsPerEvent === undefined ? '–' : p.receiverCpuMsPerEvent.toFixed(3)} | ${f(p.latencyMs.p50)}/${f(p.latencyMs.p99)} | ${peerRss(p)} |`,
    );
  }
  return lines;
}

/** A peer row's peak RSS: the process's, or the services' sum with each beside it. */
function peerRss(p: PeerResult): string {
  if (p.peakRssMiB === null) return '–';
  const each = Object.entries(p.servicePeaksMiB ?? {});
  return each.length === 0
    ? f(p.peakRssMiB)
    : `${f(p.peakRssMiB)} (${each.map(([k, v]) => `${k} ${f(v)}`).join(', ')})`;
}

export function writeOutputs(run: RunResult, outDir: string, resultsFile?: string): string {
  const file = `${outDir}/bench-${run.date.replace(/[:.]/g, '-')}.json`;
  writeFileSync(file, `${JSON.stringify(run, null, 2)}\n`);
  if (!resultsFile) return file;
  if (!existsSync(resultsFile)) {
    writeFileSync(
      resultsFile,
      '# Benchmark results\n\nAppended by `npm run bench` (one block per run; see bench/README.md for what each figure means).\n\n',
    );
  }
  appendFileSync(resultsFile, `${markdown(run)}\n\n`);
  return file;
}
