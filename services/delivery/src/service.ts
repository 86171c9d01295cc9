/**
 * Wires the delivery roles from already-created clients: the subscription table, the outcome outbox,
 * the HTTP sender, the main and tier consumers and the suspender. `main.ts` calls it with config; the
 * integration tests call it directly (or spawn main.ts when a real process must die).
 */
import { PARSE_FAILURES, SecretBox } from '@hookpost/contracts';
import {
  HEADERS,
  IDLE_FETCH_WAIT_MS,
  InFlightBytes,
  type Kafka,
  PartitionConsumer,
  recordSkipper,
  type TopicCatalog,
} from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import type { Registry } from '@hookpost/metrics';
import { HttpSender, type SsrfAllow } from '@hookpost/sender';
import { type SubscriptionTable, SubscriptionWriter, startSubscriptionTable } from '@hookpost/subscriptions';
import type { Tracing } from '@hookpost/tracing';
import { Outbox } from './adapters/outbox.ts';
import type { DeliveryConfig, RoleSet } from './config.ts';
import { DELIVERY_DEFAULTS, groupIds } from './definitions.ts';
import { Deliverer, type Send } from './deliverer.ts';
import { CircuitBreakers } from './domain/breaker.ts';
import { KeyedLimiter } from './domain/limiter.ts';
import type { Tier } from './domain/retry-policy.ts';
import { DeliveryMetrics } from './metrics.ts';
import { Suspender } from './suspender.ts';

/** The delivery config with its roles and tiers parsed (the numeric limits are taken as configured). */
export interface DeliverySettings extends Omit<DeliveryConfig['delivery'], 'roles' | 'tiers'> {
  roles: RoleSet;
  tiers: Tier[];
  ssrf: SsrfAllow;
  /** Prefix of the consumer group names (the topic prefix). */
  groupPrefix: string;
}

export interface DeliveryDeps {
  kafka: Kafka;
  catalog: TopicCatalog;
  logger: Logger;
  registry: Registry;
  /** SUBSCRIPTION_ENCRYPTION_KEYS */
  encryptionKeys: string;
  settings: DeliverySettings;
  /** Replaces the HTTP sender (unit-style tests); production uses HttpSender. */
  send?: Send;
  now?: () => number;
  /** Spans per attempt, retry and dead letter (default: off). */
  tracing?: Tracing;
}

export interface DeliveryHandle {
  metrics: DeliveryMetrics;
  table: SubscriptionTable;
  ready(): boolean;
  /** What is not ready, by part (empty when ready): the /readyz body. */
  notReady(): string[];
  stop(): Promise<void>;
}

export async function startDelivery(deps: DeliveryDeps): Promise<DeliveryHandle> {
  const { kafka, catalog, logger, settings } = deps;
  const now = deps.now ?? Date.now;
  const metrics = new DeliveryMetrics(deps.registry);
  const box = new SecretBox(deps.encryptionKeys);
  const groups = groupIds(settings.groupPrefix);
  const abort = new AbortController();

  const table = await startSubscriptionTable({
    kafka,
    topic: catalog.topics.subscriptions.name,
    box,
    logger,
    metrics: deps.registry,
    groupPrefix: `${settings.groupPrefix}hookpost-delivery`,
  });

  let sender: HttpSender | undefined;
  let send = deps.send;
  if (!send) {
    const http = new HttpSender({
      allow: settings.ssrf,
      // Slow requests free their limiter slot (up to twice the limit in flight): the pool matches.
      connectionsPerOrigin: settings.slowRequestMs > 0 ? 2 * settings.perEndpoint : settings.perEndpoint,
      connectTimeoutMs: settings.connectTimeoutMs,
      maxRetryAfterMs: settings.maxRetryAfterMs,
      now,
    });
    sender = http;
    send = (r) => http.send(r);
  }
  const circuitLog = logger.child({ component: 'circuit' });
  const breakers: CircuitBreakers = new CircuitBreakers({
    failures: settings.breakerFailures,
    cooldownMs: settings.breakerCooldownMs,
    now,
    onTransition: (webhookId, to) => {
      metrics.circuitTransitions.inc({ to });
      metrics.circuitsOpen.set(breakers.notClosed);
      circuitLog[to === 'open' ? 'warn' : 'info']({ webhookId, state: to }, 'webhook circuit changed state');
    },
  });
  const outbox = new Outbox({ kafka });
  await outbox.connect();
  const deliverer = new Deliverer({
    catalog,
    tiers: settings.tiers,
    jitter: settings.jitter,
    lookup: (id) => table.get(id),
    settle: (id) => table.settle(id),
    awaitVersion: (id, version, timeoutMs, signal) => table.waitForVersion(id, version, timeoutMs, signal),
    versionWaitMs: settings.versionWaitMs,
    send,
    limiter: new KeyedLimiter(settings.perEndpoint, {
      slow: settings.slowRequestMs > 0 ? { floorMs: settings.slowRequestMs, factor: 4 } : undefined,
    }),
    breakers,
    publish: (items) => outbox.send(items),
    metrics,
    logger,
    now,
    produceRetryMs: DELIVERY_DEFAULTS.produceRetryMs,
    signal: abort.signal,
    tracing: deps.tracing,
  });

  const common = {
    kafka,
    logger,
    metrics,
    window: settings.partitionWindow,
    // One budget for every consumer of the process (main and each tier).
    inFlightBytes: new InFlightBytes(settings.maxInFlightBytes),
    maxWaitTimeMs: settings.maxWaitTimeMs,
    commitIntervalMs: settings.commitIntervalMs,
    sessionTimeoutMs: settings.sessionTimeoutMs,
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    now,
  };
  const consumers: PartitionConsumer[] = [];
  if (settings.roles.main)
    consumers.push(
      new PartitionConsumer({
        ...common,
        groupId: groups.main,
        topic: catalog.topics.batches.name,
        name: 'main',
        supervisorName: 'delivery-main',
        handle: deliverer.handleBatch,
      }),
    );
  for (const tier of settings.roles.tiers) {
    for (const reason of DUE_HEADER_INVALID) metrics.dueHeaderInvalid.inc({ tier: tier.name, reason }, 0);
    consumers.push(
      new PartitionConsumer({
        ...common,
        groupId: groups.tier(tier.name),
        topic: catalog.retryTopic(tier.name),
        name: tier.name,
        supervisorName: `delivery-${tier.name}`,
        maxWaitTimeMs: tierFetchWaitMs(tier.delayMs, settings.maxWaitTimeMs),
        dueAt: dueAtWithin(
          Math.max(tier.delayMs * (1 + settings.jitter), settings.maxRetryAfterMs) + DUE_SKEW_MS,
          now,
          (reason) => metrics.dueHeaderInvalid.inc({ tier: tier.name, reason }),
        ),
        handle: deliverer.handleRetry(tier.name),
      }),
    );
  }
  let suspender: Suspender | undefined;
  let writer: SubscriptionWriter | undefined;
  if (settings.roles.suspender) {
    writer = new SubscriptionWriter({ kafka, topic: catalog.topics.subscriptions.name, box });
    await writer.connect();
    suspender = new Suspender({
      kafka,
      groupId: groups.suspender,
      catalog,
      table,
      writer,
      metrics,
      skipper: recordSkipper({
        logger: logger.child({ component: 'suspender' }),
        registry: deps.registry,
        topics: [catalog.topics.dlq.name],
        reasons: PARSE_FAILURES,
      }),
      logger,
      now,
      // A dead letter suspends its webhook within about this: no delivery waits behind it.
      maxWaitTimeMs: Math.max(settings.maxWaitTimeMs, IDLE_FETCH_WAIT_MS),
      sessionTimeoutMs: settings.sessionTimeoutMs,
      heartbeatIntervalMs: settings.heartbeatIntervalMs,
    });
    await suspender.start();
  }
  await Promise.all(consumers.map((c) => c.start()));
  logger.info(
    {
      main: settings.roles.main,
      tiers: settings.roles.tiers.map((t) => t.name),
      suspender: settings.roles.suspender,
    },
    'delivery running',
  );

  const roleNames = [...(settings.roles.main ? ['main'] : []), ...settings.roles.tiers.map((t) => t.name)];
  const notReady = () => [
    ...(table.ready ? [] : ['subscription table not caught up']),
    ...consumers.flatMap((c, i) => (c.ready ? [] : [`${roleNames[i]} consumer not running`])),
    ...(suspender && !suspender.ready ? ['suspender not running'] : []),
  ];
  return {
    metrics,
    table,
    ready: () => notReady().length === 0,
    notReady,
    stop: async () => {
      // Consumers first: they stop fetching and let in-flight work reach a durable outcome.
      const stopping = Promise.all(consumers.map((c) => c.stop()));
      deliverer.stopWaiting();
      await stopping;
      abort.abort();
      await suspender?.stop();
      await writer?.close();
      await outbox.close();
      await sender?.close();
      await table.stop();
    },
  };
}

/** The due time of a retry record, from its header (cheap: no JSON parse to decide to wait). */
/** Clock skew between the producing and the consuming delivery instance that a due time may carry. */
export const DUE_SKEW_MS = 60_000;

/**
 * A tier's due time is a header, so it is data: one further away than the tier could ever have set
 * (delay plus jitter, or the largest Retry-After honoured, plus skew) would hold the partition's committed
 * offset behind it for good (x-due-at in the year 3000). Such a record, like one whose header is not a
 * number, is treated as due now: the batch inside may be fine, an early retry costs one attempt (receivers
 * dedupe on webhook-id), and the record then ends like any retry (delivered, retried, dead-lettered).
 */
const DUE_HEADER_INVALID = ['not_a_number', 'beyond_horizon'] as const;
export type DueHeaderInvalid = (typeof DUE_HEADER_INVALID)[number];

/**
 * `onInvalid` hears each header taken as due now (a missing header counts as not a number: delivery
 * always writes one). The partition consumer asks once per record it takes on, and such a record is
 * taken on at once, so each is heard once (again only if a rebalance hands the partition over).
 */
export function dueAtWithin(
  horizonMs: number,
  now: () => number,
  onInvalid: (reason: DueHeaderInvalid) => void = () => {},
): (message: { headers?: Record<string, unknown> }) => number | null {
  return (message) => {
    const due = dueAtOf(message);
    if (due === null) {
      onInvalid('not_a_number');
      return null;
    }
    if (due > now() + horizonMs) {
      onInvalid('beyond_horizon');
      return null;
    }
    return due;
  };
}

export function dueAtOf(message: { headers?: Record<string, unknown> }): number | null {
  const raw = message.headers?.[HEADERS.dueAt];
  const text = Buffer.isBuffer(raw) ? raw.toString() : typeof raw === 'string' ? raw : undefined;
  // Milliseconds since the epoch, digits only: '', '1e3', ' 5' are not due times.
  const n = text === undefined || !/^\d{1,16}$/.test(text) ? Number.NaN : Number(text);
  return Number.isFinite(n) ? n : null;
}

/**
 * A retry tier's fetch wait: a tenth of its delay, between DELIVERY_MAX_WAIT_MS and 1 s. It bounds how
 * late a retry is taken after its due time (at most 1 s on a tier of 10 s or more), and an idle tier's
 * consumer fetches that much less often: seven tiers polling every 100 ms cost the delivery-retry
 * process ~86 µs of CPU per delivered event at one event per request in the bench (issue 15).
 */
export function tierFetchWaitMs(delayMs: number, baseMs: number): number {
  return Math.max(baseMs, Math.min(1000, Math.floor(delayMs / 10)));
}
