/**
 * The peer phases (`--phases …,peer`): the same events, broker and counting receiver, through
 * @platformatic/kafka-hooks (Kafka record → one POST: no matching, no batching, no signing) and through
 * hookpost with one webhook subscribed to every event of one domain, at `max_events` 1 and 500. Each
 * reports events/s delivered (first event produced → last arrival) and CPU ms per event of all its
 * processes, the broker's included, so the comparison is rerun on every change and read as ratios.
 *
 * kafka-hooks is installed from bench/peers/kafka-hooks (its own package.json and lock) into
 * .cache/bench-peers/kafka-hooks, never into the product's dependencies.
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { EmailEvent, MtaProducer } from '@hookpost/events';
import { type Admin, type Kafka, provisionTopics, serialProducer } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { ACTIVITY_MIX, eventId } from './layout.ts';
import { type PhaseContext, runPhase } from './phase.ts';
import { procStats } from './procs.ts';
import { type Percentiles, percentiles } from './report.ts';

export interface PeerResult {
  system: string;
  mode: string;
  events: number;
  /** First event produced → last event arrived. */
  seconds: number;
  eventsPerSecond: number;
  /** CPU seconds of each process of the system over the phase (`broker` included). */
  cpuSeconds: Record<string, number>;
  cpuMsPerEvent: number;
  /**
   * The counting receiver's CPU ms per event over the same span: not the system's (not in cpuMsPerEvent),
   * but it shares the machine's cores with it, and it does more per request for hookpost (verifies both
   * signatures, parses the body) than for kafka-hooks' unsigned records (reads two headers).
   */
  receiverCpuMsPerEvent?: number;
  /**
   * Peak RSS over the measured phase: the peer's own process (started for it), or the sum of
   * hookpost's services' peaks (`servicePeaksMiB`; each reset at the phase's start, so a bound on
   * what they held together). Null when not known.
   */
  peakRssMiB: number | null;
  /** Hookpost's services one by one (the worst round when combined). */
  servicePeaksMiB?: Record<string, number>;
  /** Hookpost's: the pipeline the row ran through, by its batcher's input (each has its own processes). */
  pipeline?: 'events' | 'dispatch';
  latencyMs: Percentiles;
  /** Rounds summed (the run interleaves the systems in rounds). */
  rounds?: number;
}

export interface PeerContext {
  phase: PhaseContext;
  kafka: Kafka;
  admin: Admin;
  brokers: string[];
  /** Encodes events exactly as the MTA side does (same schema id, same bytes). */
  producer: MtaProducer;
  prefix: string;
  partitions: number;
  /** The broker's pid, when it is the local stack's, so its CPU is counted. */
  brokerPid: number | undefined;
  logDir: string;
  /** Delivery's DELIVERY_PER_ENDPOINT in this run (requests in flight to the receiver's origin). */
  perOrigin: string;
}

const root = new URL('..', import.meta.url).pathname;
const CHUNK = 1000;

/** The local stack's broker pid, if the bench's brokers are the local stack's. */
export function localBrokerPid(brokers: string[]): number | undefined {
  try {
    const stack = `${root}scripts/stack.sh`;
    const env = execFileSync('bash', [stack, 'env'], { encoding: 'utf8' });
    if (!env.includes(`KAFKA_BROKERS=${brokers.join(',')}`)) return undefined;
    const status = execFileSync('bash', [stack, 'status'], { encoding: 'utf8' });
    const pid = /^kafka\s+up\s+\S+\s+pid (\d+)/m.exec(status)?.[1];
    return pid ? Number(pid) : undefined;
  } catch {
    return undefined;
  }
}

/** Names of a round after the first (`kh`, `kh-r2`, …), so each round has its topic, group and webhook. */
const roundSuffix = (round: number) => (round === 0 ? '' : `-r${round + 1}`);

/** One system's rounds as one figure: totals of events, seconds and CPU; each latency percentile's worst. */
export function combinePeerRounds(rounds: PeerResult[]): PeerResult {
  const [first] = rounds;
  if (!first) throw new Error('no peer rounds');
  const events = rounds.reduce((t, r) => t + r.events, 0);
  const seconds = rounds.reduce((t, r) => t + r.seconds, 0);
  const cpuSeconds: Record<string, number> = {};
  for (const r of rounds)
    for (const [k, v] of Object.entries(r.cpuSeconds)) cpuSeconds[k] = (cpuSeconds[k] ?? 0) + v;
  const worst = (k: keyof Percentiles) => Math.max(...rounds.map((r) => r.latencyMs[k]));
  const rss = rounds.map((r) => r.peakRssMiB).filter((v): v is number => v !== null);
  const peaks: Record<string, number> = {};
  for (const r of rounds)
    for (const [k, v] of Object.entries(r.servicePeaksMiB ?? {})) peaks[k] = Math.max(peaks[k] ?? 0, v);
  const servicePeaksMiB = Object.keys(peaks).length > 0 ? peaks : undefined;
  return {
    ...first,
    events,
    seconds,
    eventsPerSecond: Math.round(events / seconds),
    cpuSeconds,
    cpuMsPerEvent: (total(cpuSeconds) * 1000) / events,
    receiverCpuMsPerEvent:
      rounds.reduce((t, r) => t + (r.receiverCpuMsPerEvent ?? Number.NaN) * r.events, 0) / events,
    peakRssMiB: rss.length > 0 ? Math.max(...rss) : null,
    ...(servicePeaksMiB && { servicePeaksMiB }),
    latencyMs: {
      p50: worst('p50'),
      p95: worst('p95'),
      p99: worst('p99'),
      max: worst('max'),
      samples: rounds.reduce((t, r) => t + r.latencyMs.samples, 0),
    },
    rounds: rounds.length,
  };
}

/** Installs kafka-hooks once per lock file content; returns its directory. */
function installKafkaHooks(log: (line: string) => void): string {
  const from = `${root}bench/peers/kafka-hooks`;
  const dir = `${root}.cache/bench-peers/kafka-hooks`;
  const lock = readFileSync(`${from}/package-lock.json`, 'utf8');
  const marker = `${dir}/node_modules/.installed-lock`;
  mkdirSync(dir, { recursive: true });
  for (const file of ['package.json', 'package-lock.json', 'main.mjs'])
    copyFileSync(`${from}/${file}`, `${dir}/${file}`);
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== lock) {
    log('peer: installing @platformatic/kafka-hooks (bench/peers/kafka-hooks) into .cache');
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
      cwd: dir,
      stdio: 'inherit',
    });
    writeFileSync(marker, lock);
  }
  return dir;
}

function cpuOf(pids: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(pids).map(([name, pid]) => [name, pid ? procStats(pid).cpuSeconds : Number.NaN]),
  );
}

function delta(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]));
}

/** The counting receiver's CPU seconds so far (its own process: bench/receiver-main.ts). */
const receiverCpu = (ctx: PeerContext) => procStats(ctx.phase.receiver.pid).cpuSeconds;

const total = (cpu: Record<string, number>) => Object.values(cpu).reduce((a, b) => a + b, 0);

async function waitForPairs(
  ctx: PeerContext,
  phase: string,
  n: number,
  stallMs: number,
  alive: () => boolean = () => true,
): Promise<number> {
  let progress = -1;
  let progressAt = Date.now();
  for (;;) {
    if (!alive()) throw new Error(`peer phase ${phase}: its process exited (see ${ctx.logDir})`);
    const stats = await ctx.phase.receiver.stats(phase);
    if (stats.pairs >= n) return stats.lastArrival;
    if (stats.pairs !== progress) {
      progress = stats.pairs;
      progressAt = Date.now();
    }
    if (Date.now() - progressAt > stallMs)
      throw new Error(`peer phase ${phase} stalled at ${stats.pairs}/${n}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** kafka-hooks at the given concurrency, on its own topic holding the same event bytes, keyed by domain. */
export async function runKafkaHooks(
  ctx: PeerContext,
  events: number,
  concurrency: number,
  round = 0,
  /** Events sent and awaited before the measured ones (at least 1: it shows the consumer is running). */
  warmup = 1,
): Promise<PeerResult> {
  const warm = Math.max(1, warmup);
  const log = ctx.phase.log;
  const dir = installKafkaHooks(log);
  const name = `kh${roundSuffix(round)}`;
  const topic = `${ctx.prefix}peer.kafka-hooks${roundSuffix(round)}`;
  await provisionTopics(ctx.admin, [
    { name: topic, partitions: ctx.partitions, config: {}, doc: 'bench peer' },
  ]);
  // The warm-up events take the indices after the measured ones; they arrive (and are counted) first.
  await ctx.phase.receiver.setup({
    phase: name,
    events: events + warm,
    perDomain: 1,
    secrets: {},
    failRate: 0,
    maxFailures: 0,
  });
  const url = `${ctx.phase.receiver.origins[0]}/${name}/raw/0/0`;
  const output = createWriteStream(`${ctx.logDir}/kafka-hooks${roundSuffix(round)}.log`);
  const child = spawn(
    process.execPath,
    ['main.mjs', ctx.brokers.join(','), topic, url, `${ctx.prefix}peer-${name}`, String(concurrency)],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout.pipe(output);
  child.stderr.pipe(output);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const running = () => child.exitCode === null && child.signalCode === null;
  const producer = serialProducer(ctx.kafka);
  await producer.producer.connect();
  try {
    const generate = eventGenerator({
      domains: 1,
      mix: ACTIVITY_MIX,
      seed: 4242,
      domainId: () => 'kh-dom-0',
    });
    const send = async (from: number, n: number) => {
      const messages = Array.from({ length: n }, (_, j) => {
        const e: EmailEvent = generate();
        e.id = eventId(name, from + j);
        return {
          key: e.domain_id,
          value: ctx.producer.encode(e),
          headers: { 'x-bench-index': String(from + j), 'x-bench-created': String(e.created_at) },
        };
      });
      await producer.send(topic, messages);
    };
    log(
      `phase ${name} (peer: @platformatic/kafka-hooks, concurrency ${concurrency}): warming up with ${warm} events`,
    );
    for (let sent = 0; sent < warm; sent += CHUNK) await send(events + sent, Math.min(CHUNK, warm - sent));
    await waitForPairs(ctx, name, warm, 120_000, running);
    const pids = { 'kafka-hooks': child.pid, broker: ctx.brokerPid };
    const before = cpuOf(pids);
    const receiverBefore = receiverCpu(ctx);
    const started = Date.now();
    for (let sent = 0; sent < events; sent += CHUNK) await send(sent, Math.min(CHUNK, events - sent));
    const last = await waitForPairs(ctx, name, events + warm, 60_000, running);
    const cpuSeconds = delta(cpuOf(pids), before);
    const receiverSeconds = receiverCpu(ctx) - receiverBefore;
    const seconds = (last - started) / 1000;
    const stats = await ctx.phase.receiver.stats(name);
    const result: PeerResult = {
      system: '@platformatic/kafka-hooks 0.6.4',
      mode: `one POST per record, concurrency ${concurrency}`,
      events,
      seconds,
      eventsPerSecond: Math.round(events / seconds),
      cpuSeconds,
      cpuMsPerEvent: (total(cpuSeconds) * 1000) / events,
      receiverCpuMsPerEvent: (receiverSeconds * 1000) / events,
      peakRssMiB: child.pid ? procStats(child.pid).peakRssMiB : null,
      // In arrival order, the warm-up's first: only the measured events' latencies.
      latencyMs: percentiles((await ctx.phase.receiver.latencies(name)).subarray(warm)),
    };
    log(
      `  ${result.eventsPerSecond} events/s, ${result.cpuMsPerEvent.toFixed(3)} CPU ms/event, receiver ${result.receiverCpuMsPerEvent?.toFixed(3)} (${stats.duplicates} duplicates)`,
    );
    return result;
  } finally {
    await producer.disconnect().catch(() => {});
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/** hookpost with one webhook subscribed to every activity event of one domain. */
export async function runHookpostPeer(
  ctx: PeerContext,
  events: number,
  maxEvents: number,
  round = 0,
  /** Events through a phase of their own (not measured) right before, as kafka-hooks gets its warm-up. */
  warmup = 0,
  /** `ctx` is a pipeline whose batcher reads the events itself (BATCHER_INPUT=events, no fan-out). */
  eventsInput = false,
): Promise<PeerResult> {
  const one: PhaseContext = { ...ctx.phase, webhooks: 1, domains: 1 };
  // Full speed, a 1 s window, no faults: the warm-up and the measured phase alike.
  const phase = (name: string, description: string, n: number) =>
    runPhase(one, {
      name: `${name}${eventsInput ? 'e' : 'd'}${maxEvents}${roundSuffix(round)}`,
      description: `${description}: one webhook, max_events ${maxEvents}`,
      events: n,
      rate: 0,
      windowMs: 1_000,
      timeoutMs: 10_000,
      hanging: false,
      failRate: 0,
      maxEvents,
    });
  if (warmup > 0) {
    await phase('w', 'peer warm-up', warmup);
    ctx.phase.written = one.written;
  }
  const pids = { broker: ctx.brokerPid };
  const before = cpuOf(pids);
  const receiverBefore = receiverCpu(ctx);
  const p = await phase('p', 'peer', events);
  ctx.phase.written = one.written;
  // Which stage set the pace (each over the time its counter moved).
  ctx.phase.log(
    `  stages: fan-out ${Math.round(p.stages.fanout.eventsPerSecond)} events/s, batcher ${Math.round(p.stages.batcher.recordsPerSecond)} records/s, delivery ${Math.round(p.stages.delivery.batchesPerSecond)} batches/s; CPU s ${Object.entries(
      p.cpuSeconds,
    )
      .map(([k, v]) => `${k} ${v.toFixed(1)}`)
      .join(', ')}`,
  );
  const cpuSeconds = { ...p.cpuSeconds, ...delta(cpuOf(pids), before) };
  const receiverSeconds = receiverCpu(ctx) - receiverBefore;
  return {
    system: 'hookpost',
    mode: `one webhook, max_events ${maxEvents}, window 1 s, ${ctx.perOrigin} per origin${eventsInput ? ', batcher reads the events (no fan-out; the default)' : ', two-stage (fan-out, BATCHER_INPUT=dispatch)'}`,
    events,
    seconds: p.endToEnd.seconds,
    eventsPerSecond: p.endToEnd.eventsPerSecond,
    cpuSeconds,
    cpuMsPerEvent: (total(cpuSeconds) * 1000) / events,
    receiverCpuMsPerEvent: (receiverSeconds * 1000) / events,
    peakRssMiB: p.peakRssMiB ? Object.values(p.peakRssMiB).reduce((a, b) => a + b, 0) : null,
    ...(p.peakRssMiB && { servicePeaksMiB: p.peakRssMiB }),
    pipeline: eventsInput ? 'events' : 'dispatch',
    latencyMs: p.latencyMs,
  };
}
