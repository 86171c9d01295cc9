/**
 * Restart after SIGKILL, measured: for fan-out, batcher and delivery, run one instance under a steady
 * trickle of input, SIGKILL it, start a replacement at once, and time until the replacement's /readyz
 * is 200 and until it has consumed again (its own progress counter moved). The input is unreadable
 * bytes: each stage dead-letters them as poison and commits, which is progress we can count without a
 * schema or a receiver. Figures, not assertions (see bench/README.md).
 *
 *   KAFKA_BROKERS=.. SCHEMA_REGISTRY_URL=.. node bench/restart.ts [sessionTimeoutMs]
 *
 * Without an argument the services' default session timeout applies; pass 30000 for the old default.
 */
import { SecretBox } from '@hookpost/contracts';
import { connectAdmin, createKafka, createProducer, provisionTopics, topicCatalog } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { metricsText, metricValue, type RunningProcess, spawnService } from '../test/support/services.ts';

const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const session = process.argv[2];
const logger = createLogger({ name: 'bench-restart', level: 'error' });
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench-restart', logger });
const admin = await connectAdmin(kafka, brokers.split(','), 20_000);
const prefix = `bench-restart-${Date.now().toString(36)}.`;
const catalog = topicCatalog({ prefix, partitions: 3 });
await provisionTopics(admin, Object.values(catalog.topics), logger);

const stages = [
  {
    svc: 'fanout',
    input: catalog.topics.events.name,
    progress: 'webhooks_transactions_total',
    session: 'FANOUT_SESSION_TIMEOUT_MS',
  },
  {
    svc: 'batcher',
    input: catalog.topics.dispatch.name,
    progress: 'webhooks_transactions_total',
    session: 'BATCHER_SESSION_TIMEOUT_MS',
  },
  {
    svc: 'delivery',
    input: catalog.topics.batches.name,
    progress: 'webhooks_delivery_dlq_total',
    session: 'DELIVERY_SESSION_TIMEOUT_MS',
  },
] as const;

const env = {
  TOPIC_PREFIX: prefix,
  TOPIC_PARTITIONS: '3',
  KAFKA_BROKERS: brokers,
  SCHEMA_REGISTRY_URL: registryUrl,
  SUBSCRIPTION_ENCRYPTION_KEYS: SecretBox.generateSpec(),
  DELIVERY_ROLES: 'main',
  // The batcher commits when a window closes: short windows, so "consuming again" is not the window.
  BATCH_WINDOW_MS: '500',
  LOG_LEVEL: 'info', // spawnService learns the ops port from the 'started' line
};

const producer = createProducer(kafka);
await producer.connect();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(check: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(100);
  }
}
const progress = async (p: RunningProcess, metric: string) => metricValue(await metricsText(p), metric);

const results: string[] = [];
for (const stage of stages) {
  const stageEnv = session ? { ...env, [stage.session]: session } : env;
  let feeding = true;
  const feed = (async () => {
    let i = 0;
    while (feeding) {
      // Unreadable on purpose: every stage dead-letters it as poison and commits.
      await producer.send({
        topic: stage.input,
        messages: [0, 1, 2].map((k) => ({ key: `k${k}`, value: `not a record ${i++}` })),
      });
      await sleep(200);
    }
  })();
  const first = spawnService(stage.svc, stageEnv);
  await first.ready(120_000);
  await until(async () => (await progress(first, stage.progress)) > 0);
  first.child.kill('SIGKILL');
  const t0 = Date.now();
  const second = spawnService(stage.svc, stageEnv);
  await second.ready(180_000);
  const ready = Date.now() - t0;
  await until(async () => (await progress(second, stage.progress)) > 0);
  const consuming = Date.now() - t0;
  feeding = false;
  await feed;
  await second.kill('SIGTERM');
  const line = `${stage.svc}: ready after ${(ready / 1000).toFixed(1)} s, consuming after ${(consuming / 1000).toFixed(1)} s (session ${session ?? 'default'})`;
  results.push(line);
  console.log(line);
}
await producer.disconnect();
await admin.disconnect();
console.log(results.join('\n'));
