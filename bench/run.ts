/**
 * `npm run bench [-- options]`: end-to-end throughput, latency and memory of the real services on the
 * real stack, against a raw KafkaJS baseline measured in the same run. See bench/README.md.
 *
 * Phases, all in one run on one set of service processes (each phase has its own webhooks, domains and
 * event ids, so nothing is shared between them but the topics):
 *   tp   throughput: N events at full speed (or --rate), 30 s windows
 *        → then the fan-out alone on a copy of its input, in rounds with the baseline's raw consume
 *          (decode only) of the input topic; then the raw produce to a scratch topic
 *   l30  latency with 30 s windows, N/5 events at --latency-rate (default half the tp end-to-end rate)
 *   l1   latency with 1 s windows, same N and rate
 *   rt   retry scenario: 1 s windows, 20 % of requests answer 500 at random (a batch at most 3 times)
 *   sl   slow-endpoint scenario: 1 s windows, every tenth webhook hangs past its 2 s timeout
 *   o1   one-origin reference: 1 s windows, every webhook on one receiver origin, none hangs
 *   oh   breaker scenario: as o1, but every tenth webhook (on that same origin) hangs past its 2 s timeout
 *   peer side by side with @platformatic/kafka-hooks: the same events through it (one POST per record)
 *        and through hookpost with one webhook at max_events 1 and 500 (bench/peer.ts)
 *   dl   delivery alone at one event per request, not in the default phases (bench/delivery-alone.ts)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { SecretBox } from '@hookpost/contracts';
import { AvroCodec, createRegistry, type EmailEvent, emailEventSchema, MtaProducer } from '@hookpost/events';
import { connectAdmin, createKafka, provisionTopics, topicCatalog } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { createLogger } from '@hookpost/logger';
import { SubscriptionWriter } from '@hookpost/subscriptions';
import { rawConsume, rawProduce } from './baseline.ts';
import { type DeliveryAlone, runDeliveryAlone } from './delivery-alone.ts';
import { type FanoutAlone, prepareFanoutAlone } from './fanout-alone.ts';
import { ACTIVITY_MIX } from './layout.ts';
import {
  combinePeerRounds,
  localBrokerPid,
  type PeerResult,
  runHookpostPeer,
  runKafkaHooks,
} from './peer.ts';
import { type PhaseContext, type PhaseSpec, phaseWebhooks, runPhase } from './phase.ts';
import { type ProcStats, type Service, startService, sum } from './procs.ts';
import { type ReceiverHandle, startBenchReceiver } from './receiver.ts';
import { markdown, type PhaseResult, type RunResult, writeOutputs } from './report.ts';
import { perEvent, topicVolumes } from './volume.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    events: { type: 'string' },
    rate: { type: 'string', default: '0' },
    'latency-events': { type: 'string' },
    'latency-rate': { type: 'string' },
    window: { type: 'string', default: 'both' },
    phases: { type: 'string', default: 'tp,l30,l1,rt,sl,peer' },
    'peer-events': { type: 'string' },
    'peer-concurrency': { type: 'string', default: '10' },
    'peer-rounds': { type: 'string', default: '3' },
    'peer-warmup': { type: 'string' },
    'peer-modes': { type: 'string', default: '1,500,d1,d500' },
    'dl-requests': { type: 'string' },
    'dl-rounds': { type: 'string', default: '3' },
    input: { type: 'string', default: 'events' },
    webhooks: { type: 'string', default: '1000' },
    domains: { type: 'string', default: '200' },
    partitions: { type: 'string', default: '12' },
    origins: { type: 'string', default: '20' },
    'raw-produce-events': { type: 'string' },
    'cpu-prof': { type: 'string' },
    'service-env': { type: 'string', multiple: true, default: [] },
    'node-arg': { type: 'string', multiple: true, default: [] },
    'no-results': { type: 'boolean', default: false },
    'keep-topics': { type: 'boolean', default: false },
    note: { type: 'string', multiple: true, default: [] },
  },
});

const root = new URL('..', import.meta.url).pathname;

interface Role {
  name: string;
  entry: string;
  env: Record<string, string>;
}
const DELIVERY_ROLES: Role[] = [
  { name: 'delivery', entry: 'services/delivery/src/main.ts', env: { DELIVERY_ROLES: 'main,suspender' } },
  { name: 'delivery-retry', entry: 'services/delivery/src/main.ts', env: { DELIVERY_ROLES: 'retry' } },
];
/** What the batcher reads (--input): the events itself, the product's default, or the fan-out's records. */
const INPUT = args.input;
if (INPUT !== 'events' && INPUT !== 'dispatch') throw new Error('--input is events or dispatch');
/** One pipeline's services: a batcher reading the events, or the two-stage fan-out and batcher. */
function pipelineRoles(input: 'events' | 'dispatch'): Role[] {
  const batcher = { name: 'batcher', entry: 'services/batcher/src/main.ts', env: { BATCHER_INPUT: input } };
  const fanout = { name: 'fanout', entry: 'services/fanout/src/main.ts', env: {} };
  return [...(input === 'dispatch' ? [fanout] : []), batcher, ...DELIVERY_ROLES];
}
const outDir = `${root}bench/out`;
const runStarted = Date.now();
const stamp = new Date().toISOString();
const logDir = `${outDir}/logs-${stamp.replace(/[:.]/g, '-')}`;
mkdirSync(logDir, { recursive: true });
const log = (line: string) =>
  console.error(`${((Date.now() - runStarted) / 1000).toFixed(1).padStart(7)}s  ${line}`);

const N = Number(args.events ?? (args.quick ? 100_000 : 1_000_000));
const NL = Number(args['latency-events'] ?? Math.round(N / 5));
const W = Number(args.webhooks);
const D = Number(args.domains);
if (!Number.isInteger(W / D) || W / D < 3)
  throw new Error('--webhooks must be a multiple (≥ 3×) of --domains');
const PARTITIONS = Number(args.partitions);
const TIERS = '1s,2s,5s,10s,20s';
/** Rounds of the raw consume and a fan-out pass over the same input, interleaved (the fan-out ratio). */
const ALONE_ROUNDS = 3;
const wanted = new Set(args.phases.split(','));
const windows = args.window === 'both' ? [30_000, 1_000] : [Number(args.window)];
const serviceEnv = Object.fromEntries(
  (args['service-env'] as string[]).map((kv) => [
    kv.slice(0, kv.indexOf('=')),
    kv.slice(kv.indexOf('=') + 1),
  ]),
);

// --- cleanup, whatever happens -------------------------------------------------------------------
const stack = `${root}scripts/stack.sh`;
let startedStack = false;
let receiver: ReceiverHandle | undefined;
const services: Service[] = [];
/** The peer phase's second pipeline (a batcher reading the events itself), while it runs. */
const otherServices: Service[] = [];
const closers: (() => Promise<unknown>)[] = [];
let stopping = false;
let cleaned: Promise<void> | undefined;

/** Runs the provisioning service with `env`; returns what it printed. */
function provision(env: Record<string, string>): string {
  const run = spawnSync(process.execPath, ['services/provision/src/main.ts'], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`provision failed: ${run.stderr || run.stdout}`);
  return run.stdout.trim();
}

function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    stopping = true;
    await Promise.allSettled([...services, ...otherServices].map((s) => s.stop()));
    await receiver?.close().catch(() => {});
    for (const close of closers.reverse()) await close().catch(() => {});
    if (startedStack) execFileSync('bash', [stack, 'stop'], { stdio: 'inherit' });
  })();
  return cleaned;
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    log(`${signal}: stopping everything this bench started`);
    void cleanup().finally(() => process.exit(130));
  });
}

try {
  // --- the stack and the topics ------------------------------------------------------------------
  if (!process.env.KAFKA_BROKERS) {
    startedStack = spawnSync('bash', [stack, 'status'], { stdio: 'ignore' }).status !== 0;
    if (startedStack) execFileSync('bash', [stack, 'start'], { stdio: 'inherit' });
    for (const line of execFileSync('bash', [stack, 'env'], { encoding: 'utf8' }).trim().split('\n')) {
      const [k, v] = line.split('=', 2) as [string, string];
      process.env[k] ??= v;
    }
  }
  const brokers = process.env.KAFKA_BROKERS!.split(',');
  const registryUrl = process.env.SCHEMA_REGISTRY_URL!;
  const prefix = `bench-${Date.now().toString(36)}.`;
  const encryptionKeys = SecretBox.generateSpec();
  const common: Record<string, string> = {
    KAFKA_BROKERS: brokers.join(','),
    SCHEMA_REGISTRY_URL: registryUrl,
    TOPIC_PREFIX: prefix,
    TOPIC_PARTITIONS: String(PARTITIONS),
    LOG_LEVEL: 'warn',
    SUBSCRIPTION_ENCRYPTION_KEYS: encryptionKeys,
    RETRY_TIERS: TIERS,
    DELIVERY_JITTER: '0',
    // The receivers are on 127.0.0.1.
    SSRF_ALLOW_LOOPBACK: 'true',
    // Requests in flight to one origin: kafka-hooks' concurrency, so the peer phase compares the two at
    // the same load on the receiver (the product's default is 8). The throughput and latency phases
    // spread 1 000 webhooks over --origins receivers, where the two cores bound them, not this.
    DELIVERY_PER_ENDPOINT: String(args['peer-concurrency']),
    ...serviceEnv,
  };
  log(`topic prefix ${prefix} (${PARTITIONS} partitions); ${provision(common)}`);

  const logger = createLogger({ name: 'bench', level: 'warn' });
  const kafka = createKafka({ brokers, clientId: 'hookpost-bench', logger });
  const admin = await connectAdmin(kafka, brokers, 15_000);
  closers.push(() => admin.disconnect());
  const catalog = topicCatalog({ prefix, partitions: PARTITIONS, retryTiers: TIERS.split(',') });
  // Closers run last-pushed first: the bench's topics are deleted before the admin disconnects.
  if (!args['keep-topics']) {
    closers.push(async () => {
      const mine = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
      await admin.deleteTopics({ topics: mine });
    });
  }

  // --- receiver and services -----------------------------------------------------------------------
  receiver = await startBenchReceiver(Number(args.origins), Math.ceil(W / 10));
  const profiled = args['cpu-prof'];
  const profDir = `${outDir}/prof`;
  if (profiled) mkdirSync(profDir, { recursive: true });
  const roles = pipelineRoles(INPUT);
  /** Starts `roles` with `env` into `into` (their logs in `dir`); a service that dies stops the run. */
  const startRoles = async (
    list: Role[],
    env: Record<string, string>,
    dir: string,
    into: Service[],
    retired = () => false,
  ) => {
    mkdirSync(dir, { recursive: true });
    for (const role of list)
      into.push(
        await startService(
          {
            ...role,
            env: { ...env, ...role.env },
            nodeArgs: [
              ...(args['node-arg'] as string[]),
              ...(profiled === role.name ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
            ],
          },
          dir,
          (name) => {
            if (!stopping && !retired()) {
              log(`${name} exited unexpectedly (see ${dir}/${name}.log); stopping`);
              void cleanup().finally(() => process.exit(1));
            }
          },
        ),
      );
    await Promise.all(into.map((s) => s.ready()));
  };
  await startRoles(roles, common, logDir, services);
  log(`services ready: ${services.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}; logs in ${logDir}`);

  const registry = createRegistry(registryUrl);
  /** The bench's writer of webhooks and MTA producer for the topics of `topics`, closed at the end. */
  const clientsOf = async (topics: typeof catalog.topics) => {
    const w = new SubscriptionWriter({
      kafka,
      topic: topics.subscriptions.name,
      box: new SecretBox(encryptionKeys),
    });
    await w.connect();
    closers.push(() => w.close());
    const p = new MtaProducer({ kafka, registry, registryUrl, topic: topics.events.name });
    await p.connect();
    closers.push(() => p.close());
    return { writer: w, producer: p };
  };
  const { writer, producer } = await clientsOf(catalog.topics);

  const ctx: PhaseContext = {
    webhooks: W,
    domains: D,
    writer,
    producer,
    receiver,
    services,
    written: 0,
    log,
    stallMs: 120_000,
  };
  const phases: PhaseResult[] = [];
  const notes: string[] = [...(args.note as string[])];
  const base = { hanging: false, failRate: 0, timeoutMs: 10_000 };

  // --- throughput, then the baseline on the same input ---------------------------------------------
  let baseline: RunResult['baseline'] = {
    consume: { count: 0, seconds: 0, perSecond: Number.NaN },
    produce: { count: 0, seconds: 0, perSecond: Number.NaN },
  };
  let tpVolume: RunResult['tpPerEvent'] = null;
  let alone: FanoutAlone | null = null;
  if (wanted.has('tp')) {
    // Bytes on disk are read from the local stack's data directory (HP_DATA_DIR, as scripts/stack.sh).
    const dataDir = localBrokerPid(brokers)
      ? `${process.env.HP_DATA_DIR ?? `${root}.data`}/kafka/data`
      : undefined;
    const internal = catalog.all().map((t) => t.name);
    const volumeBefore = await topicVolumes(admin, internal, dataDir);
    const tpSpec: PhaseSpec = {
      ...base,
      name: 'tp',
      description: 'throughput',
      events: N,
      rate: Number(args.rate),
      windowMs: 30_000,
    };
    const tp = await runPhase(ctx, tpSpec);
    phases.push(tp);
    // The first phase: the fan-out's counter holds the tp's dispatch records alone (a batcher reading
    // the events counts the same step's records it would have written).
    const matcher = services.find((s) => s.name === 'fanout') ?? services.find((s) => s.name === 'batcher')!;
    const tpDispatched = sum(await matcher.scrape(), 'webhooks_fanout_dispatched_total');
    tpVolume = {
      topics: perEvent(volumeBefore, await topicVolumes(admin, internal, dataDir), N, prefix),
      cpuMicros: Object.fromEntries(Object.entries(tp.cpuSeconds).map(([k, v]) => [k, (v * 1e6) / N])),
    };
    log('fan-out alone: a copy of the tp input and webhooks (the other services idle)');
    const aloneRun = await prepareFanoutAlone({
      kafka,
      admin,
      prefix,
      partitions: PARTITIONS,
      sourceTopic: catalog.topics.events.name,
      webhooks: phaseWebhooks(ctx, tpSpec).webhooks,
      writer: (topic) => new SubscriptionWriter({ kafka, topic, box: new SecretBox(encryptionKeys) }),
      env: common,
      expectDispatched: tpDispatched,
      logDir,
      log,
      nodeArgs: profiled === 'fanout-alone' ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
    });
    // In rounds, each a raw consume of at least 5 / ALONE_ROUNDS s then a fan-out pass, so a burst of the
    // machine's load (they come and go over seconds here) falls on both sides of the ratio.
    log(
      `baseline: raw consume of the input topic (decode only), in ${ALONE_ROUNDS} rounds with the fan-out alone`,
    );
    const codec = new AvroCodec<EmailEvent>(registry, emailEventSchema());
    const raws: Awaited<ReturnType<typeof rawConsume>>[] = [];
    for (let round = 0; round < ALONE_ROUNDS; round++) {
      const raw = await rawConsume(
        kafka,
        admin,
        catalog.topics.events.name,
        `${prefix}bench-raw-${round}`,
        codec,
        5 / ALONE_ROUNDS,
      );
      raws.push(raw);
      const pass = await aloneRun.pass();
      log(
        `  round ${round + 1}: raw consume ${raw.perSecond} events/s (${raw.passes} passes); fan-out alone ${pass.eventsPerSecond} events/s (${pass.seconds.toFixed(2)} s, ${pass.cpuMicrosPerEvent.toFixed(1)} CPU µs/event): ${(pass.eventsPerSecond / raw.perSecond).toFixed(3)}×`,
      );
    }
    const count = raws.reduce((t, r) => t + r.count, 0);
    const seconds = raws.reduce((t, r) => t + r.seconds, 0);
    const consume = {
      count,
      seconds,
      perSecond: Math.round(count / seconds),
      passes: raws.reduce((t, r) => t + r.passes, 0),
    };
    alone = aloneRun.result();
    log(
      `  raw consume ${consume.perSecond} events/s (${consume.count} in ${consume.seconds.toFixed(1)} s, ${consume.passes} passes)`,
    );
    log(
      `  fan-out alone ${alone.eventsPerSecond} events/s (${alone.events} in ${alone.seconds.toFixed(2)} s), ${alone.cpuMicrosPerEvent.toFixed(1)} CPU µs/event, peak RSS ${alone.peakRssMiB} MiB`,
    );
    const scratch = { name: `${prefix}bench.scratch`, partitions: PARTITIONS, config: {}, doc: 'scratch' };
    await provisionTopics(admin, [scratch]);
    const rawN = Number(args['raw-produce-events'] ?? 200_000);
    log(`baseline: raw produce of ${rawN} events (MtaProducer, chunks of 1000)`);
    const gen = eventGenerator({ domains: D, mix: ACTIVITY_MIX, seed: 11 });
    const produce = await rawProduce(kafka, registry, registryUrl, scratch.name, rawN, gen, 1000);
    log(`  ${produce.perSecond} events/s`);
    baseline = { consume, produce };
  }

  // --- latency and scenarios at a set rate -----------------------------------------------------------
  const tpRate = phases[0]?.endToEnd.eventsPerSecond ?? 1000;
  const latencyRate = Number(args['latency-rate'] ?? Math.max(100, Math.round(tpRate / 2 / 50) * 50));
  const at = { ...base, events: NL, rate: latencyRate };
  for (const w of windows) {
    const name = w === 30_000 ? 'l30' : w === 1_000 ? 'l1' : `l${w}`;
    if (args.window !== 'both' || wanted.has(name))
      phases.push(
        await runPhase(ctx, { ...at, name, description: `latency, ${w / 1000} s window`, windowMs: w }),
      );
  }
  if (wanted.has('rt'))
    phases.push(
      await runPhase(ctx, {
        ...at,
        name: 'rt',
        description: 'retry: 20 % answer 500',
        windowMs: 1_000,
        failRate: 0.2,
      }),
    );
  if (wanted.has('sl'))
    phases.push(
      await runPhase(ctx, {
        ...at,
        name: 'sl',
        description: 'slow: 10 % hang past 2 s timeout',
        windowMs: 1_000,
        timeoutMs: 2_000,
        hanging: true,
      }),
    );

  // One origin shared by every webhook: the per-webhook breaker keeps the hanging tenth from holding
  // the origin's slots; oh's healthy p99 is compared with o1's (same run, same origin, no hang).
  const oneOrigin = { ...at, windowMs: 1_000, timeoutMs: 2_000, oneOrigin: true };
  if (wanted.has('o1'))
    phases.push(await runPhase(ctx, { ...oneOrigin, name: 'o1', description: 'one origin, no hang' }));
  if (wanted.has('oh'))
    phases.push(
      await runPhase(ctx, { ...oneOrigin, name: 'oh', description: 'one origin, 10 % hang', hanging: true }),
    );

  // --- side by side with a peer ----------------------------------------------------------------------
  const peers: PeerResult[] = [];
  if (wanted.has('peer')) {
    const peerEvents = Number(args['peer-events'] ?? (args.quick ? 10_000 : 30_000));
    // Each system is warmed with as many events (up to 20 000) before each measured round: kafka-hooks
    // starts a fresh process per round, and measured cold it ran at 15-18k events/s against 22-23k warm,
    // while hookpost's services had warmed through the run's earlier phases (a comparison in our favour).
    const peerWarmup = Number(args['peer-warmup'] ?? Math.min(peerEvents, 20_000));
    const peerCtx = {
      phase: ctx,
      kafka,
      admin,
      brokers,
      producer,
      prefix,
      partitions: PARTITIONS,
      brokerPid: localBrokerPid(brokers),
      logDir,
      perOrigin: common.DELIVERY_PER_ENDPOINT!,
    };
    if (peerCtx.brokerPid === undefined)
      notes.push('peer phases: the broker is not the local stack, its CPU is not counted');
    // In rounds, each kafka-hooks then hookpost at max_events 1 and 500, so a burst of the machine's load
    // falls on every system; each system's figure is its rounds' totals.
    const rounds = Number(args['peer-rounds']);
    // `<n>`: max_events n through the pipeline of the other phases (--input); `e<n>` / `d<n>`: through a
    // pipeline whose batcher reads the events itself / the fan-out's dispatch records, the main one
    // when it is that, else a second one started for the peer phase only.
    const modes = args['peer-modes'].split(',').map((m) => ({
      input: m.startsWith('e') ? 'events' : m.startsWith('d') ? 'dispatch' : INPUT,
      maxEvents: Number(m.replace(/^[ed]/, '')),
    }));
    if (modes.some((m) => !Number.isInteger(m.maxEvents) || m.maxEvents < 1 || m.maxEvents > 500))
      throw new Error(
        '--peer-modes takes max_events values 1–500, each optionally prefixed e (BATCHER_INPUT=events) or d (dispatch: the fan-out and the batcher), comma separated',
      );
    let otherCtx: typeof peerCtx | undefined;
    let otherDone = false;
    const other = INPUT === 'events' ? 'dispatch' : 'events';
    if (modes.some((m) => m.input === other)) {
      const oPrefix = `${prefix}${other === 'events' ? 'ev' : 'ds'}.`;
      const env = { ...common, TOPIC_PREFIX: oPrefix };
      provision(env);
      const oCatalog = topicCatalog({
        prefix: oPrefix,
        partitions: PARTITIONS,
        retryTiers: TIERS.split(','),
      });
      const { writer: oWriter, producer: oProducer } = await clientsOf(oCatalog.topics);
      // Started for the peer phase only, so they take no CPU from the phases before.
      await startRoles(pipelineRoles(other), env, `${logDir}/${other}-input`, otherServices, () => otherDone);
      log(
        `${other}-input pipeline ready (${oPrefix}): ${otherServices.map((s) => `${s.name} (pid ${s.pid})`).join(', ')}`,
      );
      const phase: PhaseContext = {
        ...ctx,
        writer: oWriter,
        producer: oProducer,
        services: otherServices,
        written: 0,
      };
      otherCtx = { ...peerCtx, phase, producer: oProducer, prefix: oPrefix };
    }
    const byMode: PeerResult[][] = [[], ...modes.map(() => [])];
    for (let round = 0; round < rounds; round++) {
      const kh = await runKafkaHooks(
        peerCtx,
        peerEvents,
        Number(args['peer-concurrency']),
        round,
        peerWarmup,
      );
      const ours = [];
      for (const m of modes)
        ours.push(
          await runHookpostPeer(
            m.input === INPUT ? peerCtx : otherCtx!,
            peerEvents,
            m.maxEvents,
            round,
            peerWarmup,
            m.input === 'events',
          ),
        );
      for (const [i, r] of [kh, ...ours].entries()) byMode[i]!.push(r);
      const ratios = ours.map(
        (r, i) =>
          `${modes[i]!.input === 'events' ? 'events input' : 'two-stage'}, max_events ${modes[i]!.maxEvents} ${(r.eventsPerSecond / kh.eventsPerSecond).toFixed(2)}× kafka-hooks' events/s (CPU per event ${(r.cpuMsPerEvent / kh.cpuMsPerEvent).toFixed(2)}×)`,
      );
      log(`  peer round ${round + 1}/${rounds}: ${ratios.join(', ')}`);
    }
    otherDone = true;
    await Promise.allSettled(otherServices.map((s) => s.stop()));
    peers.push(...byMode.map(combinePeerRounds));
  }

  // --- delivery alone at one event per request (opt-in: --phases …,dl) -----------------------------
  let deliveryAlone: DeliveryAlone | null = null;
  if (wanted.has('dl')) {
    const requests = Number(args['dl-requests'] ?? (args.quick ? 30_000 : 60_000));
    log(
      `delivery alone: ${requests} batches of one, one webhook, ${args['dl-rounds']} rounds (a fresh delivery each)`,
    );
    deliveryAlone = await runDeliveryAlone({
      kafka,
      admin,
      brokers,
      receiver,
      env: common,
      prefix,
      partitions: PARTITIONS,
      requests,
      rounds: Number(args['dl-rounds']),
      logDir,
      log,
      nodeArgs: [
        ...(args['node-arg'] as string[]),
        ...(profiled === 'delivery-alone' ? ['--cpu-prof', '--cpu-prof-dir', profDir] : []),
      ],
    });
  }

  // --- resources, then stop (a --cpu-prof profile is written when its process exits) ----------------
  const serviceStats: Record<string, ProcStats> = Object.fromEntries(
    services.map((s) => [s.name, s.stats()]),
  );
  stopping = true;
  await Promise.allSettled(services.map((s) => s.stop()));
  if (profiled)
    notes.push(
      `CPU profile of ${profiled} written to ${profDir} (summarise: bash scripts/hp node bench/profile.ts <file>)`,
    );

  const o1 = phases.find((p) => p.name === 'o1');
  const oh = phases.find((p) => p.name === 'oh');
  if (o1 && oh)
    notes.push(
      `breaker scenario (one origin, 10 % hanging), healthy webhooks vs the no-hang run: p50 ${oh.latencyMs.p50} / ${o1.latencyMs.p50} ms, p99 ${oh.latencyMs.p99} / ${o1.latencyMs.p99} ms, p99 ratio ${(oh.latencyMs.p99 / o1.latencyMs.p99).toFixed(3)} (target ≤ 1.10)`,
    );
  const l1 = phases.find((p) => p.name === 'l1');
  for (const p of phases.filter((x) => x.name === 'rt' || x.name === 'sl')) {
    if (!l1) continue;
    const what = p.name === 'rt' ? 'retry scenario extra delay' : 'slow scenario, healthy webhooks vs l1';
    notes.push(
      `${what}: p50 ${p.latencyMs.p50 - l1.latencyMs.p50} ms, p95 ${p.latencyMs.p95 - l1.latencyMs.p95} ms, p99 ${p.latencyMs.p99 - l1.latencyMs.p99} ms` +
        (p.name === 'rt'
          ? ` (${p.stages.delivery.injectedFailures} injected 500s, ${p.stages.delivery.retries} retries)`
          : ''),
    );
  }
  const sec = (v: number | null) => (v === null ? '–' : v.toFixed(2));
  for (const p of phases.filter((x) => x.name === 'l30' || x.name === 'l1')) {
    const parts = p.latencyParts;
    if (!parts) continue;
    const pq = (k: keyof typeof parts) => `${sec(parts[k].p50)}/${sec(parts[k].p99)}`;
    notes.push(
      `${p.name} latency parts, p50/p99 s from the services' histograms: batch window (fill) ${pq('window')}; close → first attempt ${pq('wait')}; request ${pq('request')}; oldest event's age at delivery ${pq('age')} (what the age has beyond window + wait + request is the way to the batch: MTA, fan-out, batcher's read)`,
    );
  }
  if (phases.some((p) => p.name !== 'tp'))
    notes.push(
      `latency phases: ${NL} events each at ${latencyRate} events/s (half the throughput phase's end-to-end rate unless --latency-rate); retry tiers ${TIERS}; ${W} webhooks over ${D} domains per phase, ${args.origins} receiver origins`,
    );
  const tp = phases.find((p) => p.name === 'tp');
  const cpuModel = cpus()[0]?.model ?? 'unknown';
  const run: RunResult = {
    date: stamp,
    commit: execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim(),
    machine: { cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), cpu: cpuModel },
    options: { ...args, events: N, latencyEvents: NL, latencyRate, partitions: PARTITIONS, tiers: TIERS },
    wallSeconds: (Date.now() - runStarted) / 1000,
    baseline,
    phases,
    services: serviceStats,
    headline: {
      e2eVsRawConsume: (tp?.endToEnd.eventsPerSecond ?? Number.NaN) / baseline.consume.perSecond,
      e2eVsRawProduce: (tp?.endToEnd.eventsPerSecond ?? Number.NaN) / baseline.produce.perSecond,
      fanoutVsRawConsume: (tp?.stages.fanout.eventsPerSecond ?? Number.NaN) / baseline.consume.perSecond,
      fanoutAloneVsRawConsume: (alone?.eventsPerSecond ?? Number.NaN) / baseline.consume.perSecond,
    },
    fanoutAlone: alone,
    deliveryAlone,
    tpPerEvent: tpVolume,
    peers,
    notes,
  };
  console.log(markdown(run));
  const file = writeOutputs(run, outDir, args['no-results'] ? undefined : `${root}bench/results.md`);
  log(`JSON in ${file}${args['no-results'] ? '' : '; appended to bench/results.md'}`);
} catch (error) {
  log(`bench failed: ${(error as Error).stack ?? error}`);
  process.exitCode = 1;
} finally {
  await cleanup();
  log(`wall time ${((Date.now() - runStarted) / 1000).toFixed(0)} s`);
}
process.exit(process.exitCode ?? 0);
