/**
 * The checks every producer-guide example must pass (docs/producing.md), against the real broker and
 * registry: test/producers/python.test.ts and java.test.ts call `describeProducerExample` with the way
 * to run their example. Everything it produces must decode with our codec to exactly the event sent,
 * carry no headers (the Confluent wire format is in the value alone), be keyed by domain id, and sit on
 * the partition our own producers pick for that key (Java murmur2). Domain ids include arbitrary
 * Unicode, since the partitioner hashes the key's UTF-8 bytes, and the set is checked to be one where
 * librdkafka's default (CRC32) partitioning would differ, so a wrong partitioner cannot pass. An event
 * that does not fit the schema makes the example exit non-zero naming it, and nothing is sent. The real
 * fan-out then matches what the example produced: one dispatch record per catalog type, in order (each listing the domain's webhook).
 *
 * An example's stderr must stay empty on success: a client warning (librdkafka's "Coordinator load in
 * progress", a Java client's WARN line) is a finding, not noise.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { type EventDispatchRecord, SecretBox } from '@hookpost/contracts';
import {
  AvroCodec,
  type EmailEvent,
  EVENT_TYPES,
  emailEventSchema,
  registerSchema,
  valueSubject,
} from '@hookpost/events';
import { partitionForKey, provisionTopics } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv, testEnv, uniq, waitFor } from './env.ts';
import { dispatchPairs, mta, tail } from './pipeline.ts';
import { metricsText, metricValue, spawnService } from './services.ts';
import { makeWebhook, subscriptions } from './webhooks.ts';

const root = new URL('../../', import.meta.url).pathname;
const PARTITIONS = 12;

interface ExampleRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface ProducerExample {
  /** What the describe blocks are named after, e.g. docs/examples/producer.py. */
  name: string;
  /** Installs or builds the example once (a venv, a Maven build); may take minutes on a fresh clone. */
  prepare: () => void;
  /** Runs the example: it must send the events of `eventsFile` (a JSON array) to `topic`. */
  run: (args: { brokers: string; registryUrl: string; topic: string; eventsFile: string }) => ExampleRun;
}

interface Read {
  partition: number;
  key: string;
  value: Buffer;
  headers: number;
}

export function describeProducerExample(example: ProducerExample): void {
  const dir = mkdtempSync(join(tmpdir(), 'hp-prod-example-'));
  let env: TestEnv;

  beforeAll(async () => {
    example.prepare();
    env = await testEnv({ partitions: PARTITIONS });
  }, 320_000);

  afterAll(async () => {
    await env?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** An events topic of its own per test, provisioned and registered as the platform does it. */
  async function eventsTopic(label: string): Promise<string> {
    const spec = { ...env.catalog.topics.events, name: `${env.prefix}${uniq(label)}.email.events` };
    await provisionTopics(env.admin, [spec]);
    // As services/provision does: the platform registers, the example only uses the latest version.
    await registerSchema(env.registry, env.registryUrl, valueSubject(spec.name), emailEventSchema());
    return spec.name;
  }

  function produce(topic: string, events: EmailEvent[]) {
    const eventsFile = join(dir, `${uniq('events')}.json`);
    writeFileSync(eventsFile, JSON.stringify(events));
    const r = example.run({ brokers: env.brokers, registryUrl: env.registryUrl, topic, eventsFile });
    return { status: r.status, lines: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
  }

  async function readAll(topic: string, count: number): Promise<Read[]> {
    const seen: Read[] = [];
    const consumer = env.kafka.consumer({ groupId: uniq('reader'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) =>
          void seen.push({
            partition,
            key: message.key!.toString('utf8'),
            value: message.value!,
            headers: Object.keys(message.headers ?? {}).length,
          }),
      });
      await waitFor(() => seen.length >= count, { what: `${count} records on ${topic}`, timeoutMs: 60_000 });
    } finally {
      await consumer.disconnect();
    }
    return seen;
  }

  const examples = () => JSON.parse(readFileSync(`${root}docs/examples/events.json`, 'utf8')) as EmailEvent[];

  describe(example.name, () => {
    it('produces every catalog type and thousands of events as our codec and partitioner expect', async () => {
      const topic = await eventsTopic('good');
      expect(
        examples()
          .map((e) => e.type)
          .sort(),
      ).toEqual([...EVENT_TYPES].sort());

      const domains = [
        ...fc.sample(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), { numRuns: 150, seed: 5 }),
        ...Array.from({ length: 150 }, (_, i) => `dom-${i}`),
      ];
      const generate = eventGenerator({ domains: domains.length, seed: 3, domainId: (i) => domains[i]! });
      const events = [...examples(), ...Array.from({ length: 3000 }, generate)];
      const keys = new Set(events.map((e) => e.domain_id));
      // librdkafka's default would put most of these keys elsewhere: the check below can tell.
      const crcDiffers = [...keys].filter((k) => crc32(k) % PARTITIONS !== partitionForKey(k, PARTITIONS));
      expect(crcDiffers.length).toBeGreaterThan(keys.size / 2);

      const run = produce(topic, events);
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      expect(run.lines).toHaveLength(events.length);

      const records = await readAll(topic, events.length);
      expect(records).toHaveLength(events.length);
      const sent = new Map(events.map((e) => [e.id, e]));
      const codec = new AvroCodec<EmailEvent>(env.registry, emailEventSchema());
      const wrong: string[] = [];
      for (const r of records) {
        expect(r.value[0]).toBe(0);
        expect(r.headers).toBe(0);
        const decoded = await codec.decode(r.value);
        if (!decoded.ok) throw new Error(`undecodable: ${decoded.reason} ${decoded.error}`);
        expect(decoded.value).toEqual(sent.get(decoded.value.id));
        sent.delete(decoded.value.id);
        expect(r.key).toBe(decoded.value.domain_id);
        if (r.partition !== partitionForKey(r.key, PARTITIONS)) wrong.push(r.key);
      }
      expect(sent.size).toBe(0);
      expect(wrong).toEqual([]);
      // A JVM or venv start plus 3012 records on a machine shared by many jobs (load 30 seen here).
    }, 180_000);

    it('exits non-zero naming the problem when an event does not fit the schema, and sends nothing', async () => {
      const topic = await eventsTopic('bad');
      const [good] = examples();
      const bad = { ...good!, created_at: 'yesterday' } as unknown as EmailEvent;
      const run = produce(topic, [bad]);
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/created_at|yesterday|int|long/i);
      const offsets = await env.admin.fetchTopicOffsets(topic);
      expect(offsets.reduce((s, o) => s + Number(o.high), 0)).toBe(0);
    });
  });

  describe(`the fan-out on what ${example.name} produced`, () => {
    it('dispatches every catalog type to a webhook of the domain, in order, from the Node producer partition', async () => {
      const t = env.catalog.topics;
      await provisionTopics(env.admin, [t.events, t.subscriptions, t.dispatch, t.dlq]);
      const domain = uniq('exdom');
      const boxSpec = SecretBox.generateSpec();
      const subs = await subscriptions(env, new SecretBox(boxSpec));
      const hook = makeWebhook({ domain_id: domain, events: [...EVENT_TYPES] });
      await subs.writer.put(hook);
      // The Node producer (it also registers the schema, as provisioning does) sends one event first.
      const node = await mta(env);
      const nodeEvent = node.make(domain, 'activity.opened');
      await node.producer.send([nodeEvent]);
      await node.producer.close();
      await subs.writer.close();
      const fanout = spawnService('fanout', {
        TOPIC_PREFIX: env.prefix,
        TOPIC_PARTITIONS: String(PARTITIONS),
        KAFKA_BROKERS: env.brokers,
        SCHEMA_REGISTRY_URL: env.registryUrl,
        SUBSCRIPTION_ENCRYPTION_KEYS: boxSpec,
      });
      const dispatch = await tail<EventDispatchRecord>(env, t.dispatch.name);
      try {
        await fanout.ready();
        const sent = examples().map((e) => ({ ...e, id: randomUUID(), domain_id: domain }));
        const run = produce(t.events.name, sent);
        expect(run.stderr).toBe('');
        expect(run.status).toBe(0);
        // The Node producer's record and the example's 12 share one partition: the domain's.
        const onTopic = await readAll(t.events.name, sent.length + 1);
        expect(onTopic).toHaveLength(sent.length + 1);
        const nodePartition = partitionForKey(domain, PARTITIONS);
        expect(new Set(onTopic.map((r) => r.partition))).toEqual(new Set([nodePartition]));
        // "<partition> <offset> <domain_id> <event id>", one line per acknowledged record.
        expect(run.lines.map((l) => Number(l.split(' ')[0]))).toEqual(sent.map(() => nodePartition));

        const ids = new Set<string>(sent.map((e) => e.id));
        const mine = await waitFor(
          () => {
            const got = dispatchPairs(dispatch.records).filter((r) => ids.has(r.value.event_id));
            return got.length >= sent.length ? got : undefined;
          },
          { what: 'a dispatch record for every example event', timeoutMs: 60_000 },
        );
        expect(mine).toHaveLength(sent.length);
        expect(mine.map((r) => r.value.event_id)).toEqual(sent.map((e) => e.id));
        expect(mine.map((r) => r.value.type)).toEqual(sent.map((e) => e.type));
        expect(new Set(mine.map((r) => r.value.type))).toEqual(new Set(EVENT_TYPES));
        for (const r of mine) {
          // One record per event, keyed by its domain: the webhook's records stay in the domain's partition.
          expect(r.key).toBe(domain);
          expect(r.partition).toBe(partitionForKey(domain, PARTITIONS));
          expect(r.value.webhook_id).toBe(hook.id);
          expect(r.value.payload).toMatchObject({
            type: r.value.type,
            domain_id: domain,
            webhook_id: hook.id,
          });
        }
        const text = await metricsText(fanout);
        expect(metricValue(text, 'webhooks_fanout_poison_total')).toBe(0);
        expect(metricValue(text, 'webhooks_fanout_dispatched_total')).toBe(sent.length + 1);
      } finally {
        await fanout.kill();
        await dispatch.close();
      }
    }, 120_000);
  });
}
