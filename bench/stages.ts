/**
 * Throughput of the fan-out and the batcher on this machine, and their peak RSS, with 1 000 webhooks.
 * Run against the local stack: `node bench/stages.ts [events]`. Each stage is measured alone: the
 * events (or dispatch records) are written first, then the real service process is started and timed
 * from its first consumed record to its last (from its own /metrics); peak RSS is the kernel's VmHWM.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SecretBox } from '@hookpost/contracts';
import { createRegistry, MtaProducer } from '@hookpost/events';
import { connectAdmin, createKafka, provisionTopics, readTopics, topicCatalog } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { createLogger } from '@hookpost/logger';
import { SERVICE_ENV, serviceNodeArgs } from '@hookpost/service';
import { SubscriptionWriter } from '@hookpost/subscriptions';
import { stageWebhook } from './layout.ts';

const phase = (what: string) => process.stderr.write(`${new Date().toISOString()} ${what}\n`);
const EVENTS = Number(process.argv[2] ?? 20_000);
const WEBHOOKS = 1000;
const DOMAINS = 100;
const PARTITIONS = 6;
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const prefix = `bench-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}.`;
const logger = createLogger({ name: 'bench', level: 'warn' });
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench', logger });
const admin = await connectAdmin(kafka, brokers.split(','), 10_000);
const catalog = topicCatalog({ prefix, partitions: PARTITIONS });
await provisionTopics(admin, catalog.all());

const boxSpec = SecretBox.generateSpec();
const writer = new SubscriptionWriter({
  kafka,
  topic: catalog.topics.subscriptions.name,
  box: new SecretBox(boxSpec),
});
await writer.connect();
for (let i = 0; i < WEBHOOKS; i += 1) {
  await writer.put(
    stageWebhook(i, `dom-${i % DOMAINS}`, [
      'activity.sent',
      'activity.delivered',
      'activity.opened',
      'activity.clicked',
    ]),
  );
}
await writer.close();
phase('webhooks written');

const producer = new MtaProducer({
  kafka,
  registry: createRegistry(registryUrl),
  registryUrl,
  topic: catalog.topics.events.name,
});
await producer.connect();
const gen = eventGenerator({ domains: DOMAINS, seed: 1 });
for (let sent = 0; sent < EVENTS; sent += 1000)
  await producer.send(Array.from({ length: Math.min(1000, EVENTS - sent) }, gen));
await producer.close();
phase('events produced');

const env = {
  ...process.env,
  ...SERVICE_ENV,
  TOPIC_PREFIX: prefix,
  TOPIC_PARTITIONS: String(PARTITIONS),
  KAFKA_BROKERS: brokers,
  SCHEMA_REGISTRY_URL: registryUrl,
  SUBSCRIPTION_ENCRYPTION_KEYS: boxSpec,
  HTTP_PORT: '0',
  HTTP_HOST: '127.0.0.1',
  LOG_LEVEL: 'info',
  BATCH_WINDOW_MS: '2000',
  FANOUT_PARTITIONS_CONCURRENTLY: String(PARTITIONS),
  BATCHER_PARTITIONS_CONCURRENTLY: String(PARTITIONS),
};

const children = new Set<import('node:child_process').ChildProcess>();
const cleanup = () => {
  for (const c of children) c.kill('SIGKILL');
};
process.on('exit', cleanup);
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    cleanup();
    process.exit(130);
  });

async function measure(service: string, counter: string, total: number) {
  phase(`${service}: start, expecting ${total}`);
  const entry = `services/${service}/src/main.ts`;
  const child = spawn(process.execPath, [...serviceNodeArgs(entry), entry], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  children.add(child);
  child.stdout.on('data', (d) => {
    out += d;
  });
  const value = async (port: number) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${counter} `) || l.startsWith(`${counter}{`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  let port: number | undefined;
  let first: number | undefined;
  const deadline = Date.now() + 600_000;
  for (;;) {
    port ??= Number(/"port":(\d+)[^\n]*started"/.exec(out)?.[1]) || undefined;
    if (port) {
      const n = await value(port);
      if (n > 0) first ??= Date.now();
      if (n >= total) break;
    }
    if (Date.now() > deadline) throw new Error(`${service} did not finish`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (Date.now() - first!) / 1000;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
  phase(`${service}: done in ${seconds}s`);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  children.delete(child);
  return { seconds, perSecond: Math.round(total / seconds), peakRssMiB: Math.round(Number(hwm) / 1024) };
}

const fan = await measure('fanout', 'webhooks_fanout_events_consumed_total', EVENTS);
// Count the dispatch records (read committed) so the batcher knows when it is done.
const dispatched = await (async () => {
  let n = 0;
  const consumer = await readTopics(kafka, {
    groupId: `${prefix}count`,
    topics: [catalog.topics.dispatch.name],
    maxBytesPerPartition: 8 << 20,
    eachBatch: (batch) => {
      n += batch.messages.length;
    },
  });
  for (let last = -1; n !== last || n === 0; ) {
    last = n;
    await new Promise((r) => setTimeout(r, 1500));
  }
  await consumer.stop();
  return n;
})();
const bat = await measure('batcher', 'webhooks_batcher_records_consumed_total', dispatched);
console.log(
  JSON.stringify(
    {
      webhooks: WEBHOOKS,
      partitions: PARTITIONS,
      events: EVENTS,
      dispatchRecords: dispatched,
      fanout: { ...fan, dispatchPerSecond: Math.round(dispatched / fan.seconds) },
      batcher: bat,
    },
    null,
    2,
  ),
);
await admin.deleteTopics({ topics: catalog.all().map((t) => t.name) }).catch(() => {});
await admin.disconnect();
