/**
 * The incident of issue 10, reproduced by hand: a fan-out and a delivery (main) run against a stack of
 * our own (never the shared one), records trickle in, the broker is killed with SIGKILL and started
 * again after N seconds, and we time until each consumer group has committed up to the end of its
 * input again (lag 0), with no restart of the services. Input is unreadable bytes (each stage
 * dead-letters it as poison and commits): progress without a schema or a receiver.
 *
 *   HP_* (the stack's ports and HP_DATA_DIR) KAFKA_BROKERS=.. node bench/broker-outage.ts <outage seconds>
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { SecretBox } from '@hookpost/contracts';
import { connectAdmin, createKafka, createProducer, provisionTopics, topicCatalog } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { spawnService } from '../test/support/services.ts';

const dataDir = process.env.HP_DATA_DIR;
if (!dataDir || dataDir.includes('/work/main')) throw new Error('set HP_DATA_DIR to a stack of your own');
const brokers = process.env.KAFKA_BROKERS!;
const seconds = Number(process.argv[2] ?? 20);
const logger = createLogger({ name: 'bench-outage', level: 'fatal' });
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench-outage', logger });
let admin = await connectAdmin(kafka, brokers.split(','), 20_000);
const prefix = `outage-${Date.now().toString(36)}.`;
const catalog = topicCatalog({ prefix, partitions: 3 });
await provisionTopics(admin, Object.values(catalog.topics), logger);
const env = {
  TOPIC_PREFIX: prefix,
  TOPIC_PARTITIONS: '3',
  KAFKA_BROKERS: brokers,
  SCHEMA_REGISTRY_URL: process.env.SCHEMA_REGISTRY_URL!,
  SUBSCRIPTION_ENCRYPTION_KEYS: SecretBox.generateSpec(),
  DELIVERY_ROLES: 'main',
  LOG_LEVEL: 'info', // spawnService learns the ops port from the 'started' line
};
const fanout = spawnService('fanout', env);
const delivery = spawnService('delivery', env);
await fanout.ready(120_000);
await delivery.ready(120_000);
const groups = [
  { group: `${prefix}hookpost-fanout`, topic: catalog.topics.events.name },
  { group: `${prefix}hookpost-delivery`, topic: catalog.topics.batches.name },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const producer = createProducer(kafka, {
  retry: { retries: 100, initialRetryTime: 300, maxRetryTime: 2000 },
});
await producer.connect();
let feeding = true;
const feed = (async () => {
  let i = 0;
  while (feeding) {
    for (const g of groups)
      await producer
        .send({ topic: g.topic, messages: [0, 1, 2].map((k) => ({ key: `k${k}`, value: `junk ${i++}` })) })
        .catch(() => {});
    await sleep(100);
  }
})();

async function lag(): Promise<number> {
  let total = 0;
  for (const { group, topic } of groups) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [t] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    for (const e of ends) {
      const c = Number(t?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
      total += Number(e.high) - Math.max(0, c);
    }
  }
  return total;
}
async function caughtUp(since: number): Promise<number> {
  for (;;) {
    // The feed stopped when the broker came back, so the ends are fixed and 0 is reachable.
    if ((await lag().catch(() => Number.NaN)) === 0) return Date.now() - since;
    if (Date.now() - since > 300_000) throw new Error('no recovery within 300 s');
    await sleep(250);
  }
}

const stack = (cmd: string) =>
  execFileSync('bash', ['scripts/stack.sh', cmd], { stdio: 'ignore', env: process.env });
{
  await sleep(3000);
  const pid = Number(readFileSync(`${dataDir}/kafka.pid`, 'utf8'));
  process.kill(pid, 'SIGKILL');
  await sleep(seconds * 1000);
  const restarted = Date.now();
  stack('start');
  await admin.disconnect().catch(() => {});
  admin = await connectAdmin(kafka, brokers.split(','), 60_000);
  feeding = false;
  await feed.catch(() => {});
  // Records that only a consumer that came back can consume: without them, lag 0 proves nothing.
  for (const g of groups)
    await producer.send({
      topic: g.topic,
      messages: Array.from({ length: 300 }, (_, i) => ({ key: `k${i % 3}`, value: `after ${i}` })),
    });
  const took = await caughtUp(restarted);
  const status = () =>
    Promise.all(
      [fanout, delivery].map(async (p) => (await fetch(`http://127.0.0.1:${p.port()}/readyz`)).status),
    );
  const atLag0 = await status();
  while ((await status()).some((s) => s !== 200)) {
    if (Date.now() - restarted > 300_000) throw new Error('not ready within 300 s');
    await sleep(250);
  }
  const ready = Date.now() - restarted;
  console.log(
    `outage ${seconds} s: every group at lag 0 ${(took / 1000).toFixed(1)} s after the broker was back (/readyz then ${atLag0.join(',')}), both ready after ${(ready / 1000).toFixed(1)} s`,
  );
  console.log(
    fanout
      .output()
      .split('\n')
      .filter((l) => /rebuil|crash/.test(l))
      .map((l) => l.slice(0, 300))
      .join('\n'),
  );
  console.log(
    delivery
      .output()
      .split('\n')
      .filter((l) => /rebuil|crash/.test(l))
      .map((l) => l.slice(0, 300))
      .join('\n'),
  );
}
await fanout.kill('SIGTERM');
await delivery.kill('SIGTERM');
await producer.disconnect();
await admin.disconnect();
