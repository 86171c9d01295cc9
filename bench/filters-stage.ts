/**
 * The real fan-out process, with and without content filters, in one run: 1 000 webhooks over 500
 * domains (two per domain, four activity types), the same events each time, and in the `match` runs
 * half of the webhooks carry a filter that every event matches (so the output is the same and the
 * difference is the filters' evaluation alone). Runs alternate off, match, off, match on fresh topics;
 * each is timed from the process's first consumed record to its last, by its CPU time
 * (/proc/<pid>/stat), so other load on a shared machine counts far less than wall time would.
 * Run against the local stack: `bash scripts/hp node bench/filters-stage.ts [events]`.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SecretBox, type WebhookFilter } from '@hookpost/contracts';
import { createRegistry, MtaProducer } from '@hookpost/events';
import { connectAdmin, createKafka, provisionTopics, topicCatalog } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { createLogger } from '@hookpost/logger';
import { SERVICE_ENV, serviceNodeArgs } from '@hookpost/service';
import { SubscriptionWriter } from '@hookpost/subscriptions';
import { stageWebhook } from './layout.ts';

const phase = (what: string) => process.stderr.write(`${new Date().toISOString()} ${what}\n`);
const EVENTS = Number(process.argv[2] ?? 20_000);
const WEBHOOKS = 1000;
const DOMAINS = 500;
const PARTITIONS = 6;
const TYPES = ['activity.sent', 'activity.delivered', 'activity.opened', 'activity.clicked'] as const;
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const registryUrl = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:18081/apis/ccompat/v7';
const logger = createLogger({ name: 'bench', level: 'warn' });
const kafka = createKafka({ brokers: brokers.split(','), clientId: 'bench', logger });
const admin = await connectAdmin(kafka, brokers.split(','), 10_000);
const boxSpec = SecretBox.generateSpec();

/** True for every event the bench produces, and as deep as a real filter. */
const always: WebhookFilter[] = [
  { data: { email: { tags: { $nin: ['never-a-tag'] } } } },
  { data: { email: { recipient: { email: { $exists: true } } } } },
  { data: { template_id: { $neq: 'tpl-none' } } },
  { $or: [{ domain_id: { $startsWith: 'dom-' } }, { type: 'activity.clicked' }], $not: { type: 'x' } },
];

const gen = eventGenerator({
  domains: DOMAINS,
  seed: 3,
  mix: Object.fromEntries(TYPES.map((t) => [t, 1])),
  domainId: (d) => `dom-${d}`,
});
const events = Array.from({ length: EVENTS }, gen);

const children = new Set<import('node:child_process').ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** utime + stime of a process, in seconds (clock ticks of 10 ms). */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
};

async function run(mode: 'off' | 'match') {
  const prefix = `bench-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}.`;
  const catalog = topicCatalog({ prefix, partitions: PARTITIONS });
  const t = catalog.topics;
  await provisionTopics(admin, [t.events, t.subscriptions, t.dispatch, t.dlq]);
  const writer = new SubscriptionWriter({ kafka, topic: t.subscriptions.name, box: new SecretBox(boxSpec) });
  await writer.connect();
  for (let i = 0; i < WEBHOOKS; i += 1) {
    const filter = mode === 'match' && i % 2 === 1 ? always[i % always.length] : undefined;
    await writer.put(
      stageWebhook(
        i,
        `dom-${i % DOMAINS}`,
        [...TYPES],
        filter ? { filter, format: 'json' } : { format: 'json' },
      ),
    );
  }
  await writer.close();
  const producer = new MtaProducer({
    kafka,
    registry: createRegistry(registryUrl),
    registryUrl,
    topic: t.events.name,
  });
  await producer.connect();
  for (let sent = 0; sent < EVENTS; sent += 1000) await producer.send(events.slice(sent, sent + 1000));
  await producer.close();
  phase(`${mode}: ${WEBHOOKS} webhooks and ${EVENTS} events written; fan-out starts`);

  const entry = 'services/fanout/src/main.ts';
  const child = spawn(process.execPath, [...serviceNodeArgs(entry), entry], {
    env: {
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
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  const metric = async (port: number, name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  };
  let port: number | undefined;
  let start: { cpu: number; at: number } | undefined;
  const deadline = Date.now() + 180_000;
  for (;;) {
    port ??= Number(/"port":(\d+)[^\n]*started"/.exec(out)?.[1]) || undefined;
    if (port) {
      const n = await metric(port, 'webhooks_fanout_events_consumed_total');
      if (n > 0) start ??= { cpu: cpuSeconds(child.pid!), at: Date.now() };
      if (n >= EVENTS) break;
    }
    if (Date.now() > deadline) throw new Error('fan-out did not finish');
    await new Promise((r) => setTimeout(r, 20));
  }
  const cpu = cpuSeconds(child.pid!) - start!.cpu;
  const seconds = (Date.now() - start!.at) / 1000;
  const dispatched = await metric(port!, 'webhooks_fanout_dispatched_total');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  children.delete(child);
  await admin.deleteTopics({ topics: catalog.all().map((x) => x.name) }).catch(() => {});
  const result = {
    mode,
    cpuUsPerEvent: Number(((cpu * 1e6) / EVENTS).toFixed(1)),
    eventsPerSecond: Math.round(EVENTS / seconds),
    dispatchedPerEvent: Number((dispatched / EVENTS).toFixed(3)),
  };
  phase(JSON.stringify(result));
  return result;
}

const runs: Awaited<ReturnType<typeof run>>[] = [];
for (const mode of ['off', 'match', 'off', 'match'] as const) runs.push(await run(mode));
const mean = (mode: string) => {
  const xs = runs.filter((r) => r.mode === mode).map((r) => r.cpuUsPerEvent);
  return xs.reduce((a, b) => a + b, 0) / xs.length;
};
console.log(
  JSON.stringify(
    {
      at: new Date().toISOString(),
      events: EVENTS,
      webhooks: WEBHOOKS,
      withFilter: WEBHOOKS / 2,
      runs,
      cpuUsPerEvent: { off: Number(mean('off').toFixed(1)), match: Number(mean('match').toFixed(1)) },
      ratio: Number((mean('match') / mean('off')).toFixed(3)),
    },
    null,
    2,
  ),
);
await admin.disconnect();
