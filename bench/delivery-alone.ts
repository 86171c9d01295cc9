/**
 * Delivery alone at one event per request (`--phases …,dl`): one webhook's batches of one, written
 * beforehand to one partition of a batches topic of their own, and a fresh delivery process (main role
 * only) POSTing them to the bench receiver, which verifies both signatures as in every phase. No
 * batcher and no producing bench compete for the cores, so this is delivery's own pace: in the peer
 * phase at `max_events` 1 its loop is the bound once the batcher has gone through the burst (bench/README,
 * "Where issue 15 stands"), and this measures that loop with less of the machine's noise.
 *
 * Each round reports requests/s and delivery's CPU µs per request between the receiver's 10 % and
 * 90 % of the requests (start-up and the tail left out), and the receiver's CPU per request beside it.
 */
import { randomBytes } from 'node:crypto';
import { framedBatchRecord, SecretBox, type Webhook } from '@hookpost/contracts';
import { type Admin, type Kafka, provisionTopics, serialProducer, topicCatalog } from '@hookpost/kafka';
import { SubscriptionWriter } from '@hookpost/subscriptions';
import { domainId, eventId } from './layout.ts';
import { procStats, startService } from './procs.ts';
import type { ReceiverHandle } from './receiver.ts';

export interface DeliveryAloneRound {
  requests: number;
  /** Between the receiver's 10 % and 90 % of the requests. */
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
  receiverCpuMicrosPerRequest: number;
  /** Delivery's peak RSS over the round (its process is fresh each round). */
  peakRssMiB: number;
}

export interface DeliveryAlone {
  rounds: DeliveryAloneRound[];
  /** The rounds' medians. */
  requestsPerSecond: number;
  cpuMicrosPerRequest: number;
  receiverCpuMicrosPerRequest: number;
}

export interface DeliveryAloneOptions {
  kafka: Kafka;
  admin: Admin;
  brokers: string[];
  receiver: ReceiverHandle;
  /** The bench's service env (registry, SSRF loopback, per-origin limit, malloc settings). */
  env: Record<string, string>;
  prefix: string;
  partitions: number;
  requests: number;
  rounds: number;
  logDir: string;
  log: (line: string) => void;
  nodeArgs?: string[];
}

/** ~1.3 KB per body, as the peer phase's events render. */
const FILLER = 'x'.repeat(1100);
const CHUNK = 1000;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

export async function runDeliveryAlone(o: DeliveryAloneOptions): Promise<DeliveryAlone> {
  const rounds: DeliveryAloneRound[] = [];
  for (let r = 0; r < o.rounds; r++) rounds.push(await round(o, r));
  return {
    rounds,
    requestsPerSecond: Math.round(median(rounds.map((x) => x.requestsPerSecond))),
    cpuMicrosPerRequest: median(rounds.map((x) => x.cpuMicrosPerRequest)),
    receiverCpuMicrosPerRequest: median(rounds.map((x) => x.receiverCpuMicrosPerRequest)),
  };
}

async function round(o: DeliveryAloneOptions, r: number): Promise<DeliveryAloneRound> {
  const n = o.requests;
  const phase = `dl${r}`;
  const prefix = `${o.prefix}dl${r}.`;
  const catalog = topicCatalog({ prefix, partitions: o.partitions, retryTiers: ['1m'] });
  await provisionTopics(o.admin, catalog.all());
  const spec = SecretBox.generateSpec();
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  await o.receiver.setup({
    phase,
    events: n,
    perDomain: 1,
    secrets: { '0/0': secret },
    failRate: 0,
    maxFailures: 0,
  });
  const now = Date.now();
  const webhook: Webhook = {
    id: `${phase}-wh`,
    account_id: 'bench',
    domain_id: domainId(phase, 0),
    name: 'delivery alone',
    url: `${o.receiver.origins[0]}/${phase}/ok/0/0`,
    events: ['activity.delivered'],
    enabled: true,
    status: 'active',
    status_reason: null,
    secrets: [{ value: secret, created_at: now, expires_at: null }],
    format: 'json',
    batch: { max_events: 1, window_ms: 1000 },
    timeout_ms: 10_000,
    auth: null,
    created_at: now,
    updated_at: now,
    version: 1,
  };
  const writer = new SubscriptionWriter({
    kafka: o.kafka,
    topic: catalog.topics.subscriptions.name,
    box: new SecretBox(spec),
  });
  await writer.connect();
  await writer.put(webhook);
  await writer.close();
  const producer = serialProducer(o.kafka);
  await producer.producer.connect();
  for (let i = 0; i < n; i += CHUNK) {
    const messages = [];
    for (let j = i; j < Math.min(n, i + CHUNK); j++) {
      const id = eventId(phase, j);
      const body = JSON.stringify([
        {
          type: 'activity.delivered',
          domain_id: webhook.domain_id,
          created_at: new Date().toISOString(),
          data: { id, filler: FILLER },
        },
      ]);
      const value = framedBatchRecord(
        {
          batch_id: `${phase}-b${j}`,
          webhook_id: webhook.id,
          format: 'json',
          event_ids: [id],
          first_enqueued_at: now,
          oldest_event_at: now,
          created_at: now,
        },
        [body],
      );
      messages.push({ key: webhook.id, partition: 0, value });
    }
    await producer.sendBatch([{ topic: catalog.topics.batches.name, messages }]);
  }
  await producer.disconnect();

  const service = await startService(
    {
      name: `delivery-alone-${r}`,
      entry: 'services/delivery/src/main.ts',
      nodeArgs: o.nodeArgs,
      env: {
        ...o.env,
        KAFKA_BROKERS: o.brokers.join(','),
        TOPIC_PREFIX: prefix,
        TOPIC_PARTITIONS: String(o.partitions),
        SUBSCRIPTION_ENCRYPTION_KEYS: spec,
        RETRY_TIERS: '1m',
        DELIVERY_ROLES: 'main',
      },
    },
    o.logDir,
    () => {},
  );
  try {
    await service.ready(60_000);
    type Mark = { t: number; cpu: number; receiverCpu: number; pairs: number };
    let from: Mark | undefined;
    let to: Mark | undefined;
    for (let pairs = 0; pairs < n; ) {
      await new Promise((res) => setTimeout(res, 20));
      const stats = await o.receiver.stats(phase);
      pairs = stats.pairs;
      if (stats.duplicates > 0 || stats.badSignatures > 0 || stats.unexpected > 0)
        throw new Error(`delivery alone: ${JSON.stringify(stats)}`);
      const mark = {
        t: performance.now(),
        cpu: procStats(service.pid).cpuSeconds,
        receiverCpu: procStats(o.receiver.pid).cpuSeconds,
        pairs,
      };
      if (!from && pairs >= n * 0.1) from = mark;
      if (!to && pairs >= n * 0.9) to = mark;
    }
    const done = to!.pairs - from!.pairs;
    const result = {
      requests: n,
      requestsPerSecond: Math.round((done / (to!.t - from!.t)) * 1000),
      cpuMicrosPerRequest: ((to!.cpu - from!.cpu) / done) * 1e6,
      receiverCpuMicrosPerRequest: ((to!.receiverCpu - from!.receiverCpu) / done) * 1e6,
      peakRssMiB: service.stats().peakRssMiB,
    };
    o.log(
      `  round ${r + 1}/${o.rounds}: ${result.requestsPerSecond} requests/s, ${result.cpuMicrosPerRequest.toFixed(1)} CPU µs per request (receiver ${result.receiverCpuMicrosPerRequest.toFixed(1)}), peak RSS ${result.peakRssMiB} MiB`,
    );
    return result;
  } finally {
    // Its topics go with the bench's (the same prefix), unless --keep-topics.
    await service.stop();
  }
}
