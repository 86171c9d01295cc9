/**
 * A consumer that stops must never look alive, and must come back by itself. Seen in production: after
 * a broker outage KafkaJS reported `Failed to find group coordinator` with restart=false, the fan-out
 * never consumed again and /readyz kept answering 200. Here the KafkaJS consumer under a real service
 * (runService + TransactionalRunner / SupervisedConsumer, real broker) is stopped or crashed from
 * outside; the probes must turn, and the consumer must recover and consume everything exactly once.
 */
import { commonSchema } from '@hookpost/config';
import { type Kafka, type PartitionHandler, SupervisedConsumer, TransactionalRunner } from '@hookpost/kafka';
import { runService, type ServiceHandle } from '@hookpost/service';
import { type Consumer, KafkaJSNonRetriableError } from 'kafkajs';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it, type Owner } from '../support/fixtures.ts';
import { tail } from '../support/pipeline.ts';
import { inOutTopics, produceValues } from '../support/records.ts';

let env: TestEnv;
it.beforeAll(({ env: e }) => {
  env = e;
});

/** A Kafka client that records every consumer it creates, so a test can reach the one in use. */
function spying(kafka: Kafka): { kafka: Kafka; consumers: Consumer[] } {
  const consumers: Consumer[] = [];
  const spy = Object.create(kafka) as Kafka;
  spy.consumer = (config) => {
    const c = kafka.consumer(config);
    consumers.push(c);
    return c;
  };
  return { kafka: spy, consumers };
}

const topics = (partitions: number) => inOutTopics(env, 'live', partitions);
const produce = (topic: string, values: string[]) => produceValues(env, topic, values);
const collect = async (opened: Owner, topic: string) =>
  opened.own(await tail<string>(env, topic, { raw: true }), (t) => t.close());

/** A service running `start`, stopped by `opened` after the test. */
async function service(
  opened: Owner,
  start: Parameters<typeof runService>[0]['start'],
): Promise<ServiceHandle> {
  const handle = await runService({
    name: 'liveness-test',
    schema: commonSchema,
    exit: false,
    env: {
      KAFKA_BROKERS: env.brokers,
      SCHEMA_REGISTRY_URL: env.registryUrl,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    },
    start,
  });
  return opened.own(handle, (h) => h.stop());
}

async function probe(handle: ServiceHandle, path: '/healthz' | '/readyz' | '/metrics') {
  const res = await fetch(`http://127.0.0.1:${handle.port()}${path}`);
  return { status: res.status, body: await res.text() };
}

const range = (from: number, n: number, tag: string) =>
  Array.from({ length: n }, (_, i) => `${tag}${from + i}`);

describe('a consumer that stops never looks alive, and comes back by itself', () => {
  it('transactional runner: its KafkaJS consumer stopped from outside turns /readyz, is rebuilt, and every record is produced exactly once', async ({
    opened,
  }) => {
    const { input, output } = await topics(3);
    const spy = spying(env.kafka);
    const echo = (): PartitionHandler => ({
      onMessages: async (messages, tx) => {
        await tx.send(
          messages.map((m) => ({ topic: output, key: null, value: `out-${m.value!.toString()}` })),
        );
        return 'commit';
      },
      reset: () => {},
    });
    let runner: TransactionalRunner | undefined;
    const handle = await service(opened, async () => {
      runner = new TransactionalRunner({
        kafka: spy.kafka,
        logger: env.logger,
        name: 'liveness-tx',
        groupId: uniq('g'),
        topic: input,
        transactionalIdPrefix: uniq('svc'),
        transactionTimeoutMs: 20_000,
        createHandler: echo,
        maxWaitTimeInMs: 100,
      });
      await runner.start();
      return { ready: () => runner!.running, stop: () => runner!.stop() };
    });
    const out = await collect(opened, output);
    const first = range(0, 300, 'a');
    await produce(input, first);
    await waitFor(() => out.values().length >= first.length, { what: 'first outputs' });
    expect((await probe(handle, '/readyz')).status).toBe(200);

    // Nobody asked it to stop: before, it stayed stopped and /readyz stayed 200.
    const original = spy.consumers.at(-1)!;
    await original.stop();
    await waitFor(async () => (await probe(handle, '/readyz')).status === 503, { what: '/readyz 503' });
    await waitFor(async () => (await probe(handle, '/readyz')).status === 200, {
      what: '/readyz 200 again',
      timeoutMs: 60_000,
    });
    expect(spy.consumers.at(-1)).not.toBe(original);

    const second = range(0, 300, 'b');
    await produce(input, second);
    const all = [...first, ...second].map((v) => `out-${v}`);
    await waitFor(() => out.values().length >= all.length, {
      what: 'outputs after the rebuild',
      timeoutMs: 60_000,
    });
    const metrics = (await probe(handle, '/metrics')).body;
    await out.close();
    expect(out.values().sort()).toEqual(all.sort());
    expect((await probe(handle, '/healthz')).status).toBe(200);
    expect(metrics).toMatch(/webhooks_consumer_up\{[^}]*consumer="tx-liveness-tx"[^}]*\} 1/);
    expect(metrics).toMatch(/webhooks_consumer_rebuilds_total\{[^}]*consumer="tx-liveness-tx"[^}]*\} [1-9]/);
  }, 120_000);

  it('a crash KafkaJS reports with restart:false makes /readyz fail, and the consumer recovers and reads on', async ({
    opened,
  }) => {
    const { input } = await topics(2);
    const spy = spying(env.kafka);
    const seen = new Set<string>();
    const crashes: boolean[] = [];
    let poisoned = true;
    const handle = await service(opened, async ({ logger }) => {
      const c = new SupervisedConsumer({
        kafka: spy.kafka,
        name: 'liveness-crash',
        logger,
        initialBackoffMs: 1000,
        config: { groupId: uniq('g'), maxWaitTimeInMs: 100 },
        setup: async (consumer) => {
          consumer.on(consumer.events.CRASH, ({ payload }) => crashes.push(payload.restart));
          await consumer.connect();
          await consumer.subscribe({ topic: input, fromBeginning: true });
          await consumer.run({
            eachMessage: async ({ message }) => {
              const v = message.value!.toString();
              // The error KafkaJS gives up on (what "Failed to find group coordinator" is).
              if (v === 'poison' && poisoned) {
                poisoned = false;
                throw new KafkaJSNonRetriableError('injected: not retriable');
              }
              seen.add(v);
            },
          });
        },
      });
      await c.start();
      return { stop: () => c.stop() };
    });
    const before = range(0, 200, 'c');
    await produce(input, before);
    await waitFor(() => seen.size >= before.length, { what: 'records before the crash' });
    expect((await probe(handle, '/readyz')).status).toBe(200);
    await produce(input, ['poison']);
    await waitFor(async () => crashes.length > 0 && (await probe(handle, '/readyz')).status === 503, {
      what: 'crash seen and /readyz 503',
    });
    expect(crashes[0]).toBe(false);
    const after = range(0, 200, 'd');
    await produce(input, after);
    await waitFor(() => seen.size >= before.length + after.length + 1, {
      what: 'records after the crash',
      timeoutMs: 60_000,
    });
    expect([...seen].sort()).toEqual([...before, ...after, 'poison'].sort());
    expect((await probe(handle, '/readyz')).status).toBe(200);
    expect((await probe(handle, '/healthz')).status).toBe(200);
  }, 120_000);

  it('a consumer that cannot be rebuilt for longer than its bound fails /healthz, and passes again once it runs', async ({
    opened,
  }) => {
    const { input } = await topics(1);
    const spy = spying(env.kafka);
    let broken = false;
    let seen = 0;
    const handle = await service(opened, async ({ logger }) => {
      const c = new SupervisedConsumer({
        kafka: spy.kafka,
        name: 'liveness-stall',
        logger,
        stallMs: 1500,
        initialBackoffMs: 200,
        maxBackoffMs: 500,
        config: { groupId: uniq('g'), maxWaitTimeInMs: 100 },
        setup: async (consumer) => {
          if (broken) throw new Error('injected: cannot connect');
          await consumer.connect();
          await consumer.subscribe({ topic: input, fromBeginning: true });
          await consumer.run({
            eachMessage: async () => {
              seen += 1;
            },
          });
        },
      });
      await c.start();
      return { stop: () => c.stop() };
    });
    await produce(input, range(0, 50, 'e'));
    await waitFor(() => seen >= 50, { what: 'records read' });
    expect((await probe(handle, '/healthz')).status).toBe(200);
    broken = true;
    await spy.consumers.at(-1)!.stop();
    await waitFor(async () => (await probe(handle, '/healthz')).status === 503, { what: '/healthz 503' });
    expect((await probe(handle, '/readyz')).status).toBe(503);
    expect((await probe(handle, '/metrics')).body).toMatch(
      /webhooks_consumer_up\{[^}]*consumer="liveness-stall"[^}]*\} 0/,
    );
    broken = false;
    await waitFor(async () => (await probe(handle, '/healthz')).status === 200, {
      what: '/healthz 200 again',
      timeoutMs: 60_000,
    });
    await produce(input, range(0, 50, 'f'));
    await waitFor(() => seen >= 100, { what: 'records after recovery' });
  }, 120_000);
});
