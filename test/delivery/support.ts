/** Shared pieces of the delivery integration tests: topics, batches, an in-process service. (Topics are read with tail() of test/support/pipeline.ts.) */
import { type BatchRecord, SecretBox, type Webhook } from '@hookpost/contracts';
import { type DeliveryHandle, type DeliverySettings, groupIds, startDelivery } from '@hookpost/delivery';
import { provisionTopics, type SerialProducer, serialProducer, topicOffsets } from '@hookpost/kafka';
import { createRegistry, type Registry } from '@hookpost/metrics';
import { startReceiver } from '@hookpost/sender';
import type { Tracing } from '@hookpost/tracing';
import type { TestEnv } from '../support/env.ts';
import { testEnv, waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';

export { makeBatch } from '../support/factories.ts';

import { makeWebhook, subscriptions } from '../support/webhooks.ts';

export const TEST_TIERS = [
  { name: '200ms', delayMs: 200 },
  { name: '500ms', delayMs: 500 },
  { name: '1s', delayMs: 1000 },
];

function settings(env: TestEnv, overrides: Partial<DeliverySettings> = {}): DeliverySettings {
  return {
    roles: { main: true, suspender: true, tiers: TEST_TIERS },
    tiers: TEST_TIERS,
    jitter: 0.1,
    partitionWindow: 64,
    maxInFlightBytes: 32 * 1024 * 1024,
    perEndpoint: 8,
    connectTimeoutMs: 2000,
    maxRetryAfterMs: 60_000,
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
    maxWaitTimeMs: 50,
    commitIntervalMs: 200,
    breakerFailures: 5,
    breakerCooldownMs: 30_000,
    slowRequestMs: 250,
    versionWaitMs: 10_000,
    ssrf: { loopback: true },
    groupPrefix: env.prefix,
    ...overrides,
  };
}

/**
 * Creates the test's topics and waits until their leaders answer: right after creation a busy broker
 * can still say "not the leader" to ListOffsets for a moment (topicOffsets retries that).
 */
export async function provision(env: TestEnv): Promise<void> {
  await provisionTopics(env.admin, env.catalog.all());
  for (const spec of env.catalog.all()) await topicOffsets(env.kafka, spec.name);
}

export async function startInProcess(
  env: TestEnv,
  encryptionKeys: string,
  overrides: Partial<DeliverySettings> = {},
  registry = createRegistry(),
  tracing?: Tracing,
): Promise<DeliveryHandle> {
  return startDelivery({
    tracing,
    kafka: env.kafka,
    catalog: env.catalog,
    logger: env.logger,
    registry,
    encryptionKeys,
    settings: settings(env, overrides),
  });
}

/**
 * A test file's usual set-up: its own topics (provisioned, leaders known), a receiver, a subscription
 * writer and delivery in-process on `registry`. `close` stops them in reverse order. Kept for callers
 * outside this branch; new tests use `deliveryTest`, whose fixtures close themselves.
 * @public
 */
export async function deliveryFixture(
  options: { partitions?: number; overrides?: Partial<DeliverySettings>; registry?: Registry } = {},
) {
  const env = await testEnv({
    partitions: options.partitions ?? 1,
    retryTiers: TEST_TIERS.map((t) => t.name),
  });
  await provision(env);
  const receiver = await startReceiver();
  const keys = SecretBox.generateSpec();
  const subs = await subscriptions(env, new SecretBox(keys));
  const delivery = await startInProcess(env, keys, options.overrides, options.registry);
  /** Puts the webhook and waits until delivery's table has it. */
  const put = async (w: Webhook) => {
    const at = await subs.writer.put(w);
    await delivery.table.waitForOffset(at.partition, at.offset);
  };
  return {
    env,
    receiver,
    subs,
    delivery,
    put,
    close: async () => {
      await delivery.stop();
      await subs.writer.close();
      await receiver.close();
      await env.close();
    },
  };
}

/**
 * The delivery tests' fixtures, over those of test/support/fixtures.ts with `partitions` (default 1)
 * and the test tiers: `topics` (provisioned, leaders known), `subs` (a subscription writer), `delivery`
 * (in-process, with `overrides`, on `registry`), `put(webhook)` (written and in delivery's table),
 * `register(path, overrides)` (a webhook to the receiver's `path`, put) and `batches` (a batch producer).
 * `keys` are the subscriptions' encryption keys. Each is opened on first use and closed after the file's
 * last test. Called at a file's top level, it also opens delivery (unless `inProcess: false`) in a beforeAll: started there, its start-up gets the hook timeout, not a test's.
 */
export function deliveryTest(
  options: {
    partitions?: number;
    overrides?: Partial<DeliverySettings>;
    registry?: Registry;
    /** false: no in-process delivery is opened before the tests (a test file that spawns its own). */
    inProcess?: boolean;
  } = {},
) {
  const keys = SecretBox.generateSpec();
  const t = integrationTest({
    partitions: options.partitions ?? 1,
    retryTiers: TEST_TIERS.map((tier) => tier.name),
  })
    .extend('keys', { scope: 'file' }, keys)
    .extend('topics', { scope: 'file' }, async ({ env }) => {
      await provision(env);
      return env.catalog;
    })
    .extend('subs', { scope: 'file' }, async ({ env, topics: _topics }, { onCleanup }) => {
      const subs = await subscriptions(env, new SecretBox(keys));
      onCleanup(() => subs.writer.close());
      return subs;
    })
    .extend('delivery', { scope: 'file' }, async ({ env, topics: _topics }, { onCleanup }) => {
      const delivery = await startInProcess(env, keys, options.overrides, options.registry);
      onCleanup(() => delivery.stop());
      return delivery;
    })
    .extend('put', { scope: 'file' }, ({ subs, delivery }) => async (w: Webhook) => {
      const at = await subs.writer.put(w);
      await delivery.table.waitForOffset(at.partition, at.offset);
      return w;
    })
    .extend(
      'register',
      { scope: 'file' },
      ({ receiver, put }) =>
        (path: string, overrides: Partial<Webhook> = {}) =>
          put(makeWebhook({ url: `${receiver.url}${path}`, ...overrides })),
    )
    .extend('batches', { scope: 'file' }, async ({ env, topics: _topics }, { onCleanup }) => {
      const batches = new BatchProducer(env);
      await batches.connect();
      onCleanup(() => batches.close());
      return batches;
    });
  if (options.inProcess !== false) t.beforeAll(async ({ delivery: _delivery }) => {});
  return t;
}

/** Produces batches to webhooks.batches keyed by webhook id (as the batcher would). */
export class BatchProducer {
  private readonly producer: SerialProducer;
  private readonly topic: string;
  constructor(env: TestEnv) {
    this.producer = serialProducer(env.kafka);
    this.topic = env.catalog.topics.batches.name;
  }
  connect() {
    return this.producer.producer.connect();
  }
  async send(batches: BatchRecord[]): Promise<void> {
    for (let i = 0; i < batches.length; i += 500)
      await this.producer.send(
        this.topic,
        batches.slice(i, i + 500).map((b) => ({ key: b.webhook_id, value: JSON.stringify(b) })),
      );
  }
  close() {
    return this.producer.disconnect();
  }
}

/**
 * Resolves once the suspender has committed past each of these DLQ records: whatever it does about them
 * (a suspension, written through delivery's table) is done, so a test may assert that it did nothing.
 */
export async function suspenderPast(env: TestEnv, records: { partition: number; offset: string }[]) {
  const topic = env.catalog.topics.dlq.name;
  const groupId = groupIds(env.prefix).suspender;
  await waitFor(
    async () => {
      const [t] = await env.admin.fetchOffsets({ groupId, topics: [topic] });
      const committed = (p: number) => Number(t?.partitions.find((x) => x.partition === p)?.offset ?? -1);
      return records.every((r) => committed(r.partition) > Number(r.offset));
    },
    { what: 'the suspender committed past the dead letters' },
  );
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
