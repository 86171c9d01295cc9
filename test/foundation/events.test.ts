import {
  AvroCodec,
  type EmailEvent,
  emailEventSchema,
  InvalidEventError,
  MtaProducer,
} from '@hookpost/events';
import { partitionForKey, provisionTopics } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it } from '../support/fixtures.ts';

let env: TestEnv;
let producer: MtaProducer;

it.beforeAll(async ({ env: e, owned }) => {
  env = e;
  await provisionTopics(env.admin, [env.catalog.topics.events]);
  producer = owned.own(
    new MtaProducer({
      kafka: env.kafka,
      registry: env.registry,
      registryUrl: env.registryUrl,
      topic: env.catalog.topics.events.name,
    }),
    (p) => p.close(),
  );
  await producer.connect();
});

describe('Avro events through the broker and the registry', () => {
  it('an MTA producer publishes events that a consumer decodes to the same values, keyed by domain', async ({
    opened,
  }) => {
    const sent = Array.from({ length: 300 }, eventGenerator({ domains: 7, seed: 42 }));
    await producer.send(sent);

    const codec = new AvroCodec<EmailEvent>(env.registry, emailEventSchema());
    const received = new Map<string, { key: string; value: EmailEvent; partition: number }>();
    const consumer = opened.own(env.kafka.consumer({ groupId: uniq('g'), maxWaitTimeInMs: 100 }), (c) =>
      c.disconnect(),
    );
    await consumer.connect();
    await consumer.subscribe({ topic: env.catalog.topics.events.name, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message, partition }) => {
        const r = await codec.decode(message.value);
        if (!r.ok) throw new Error(`undecodable: ${r.reason}`);
        received.set(r.value.id, { key: message.key!.toString(), value: r.value, partition });
      },
    });
    await waitFor(() => received.size === sent.length, { what: 'all events read back' });

    for (const e of sent) {
      const got = received.get(e.id);
      expect(got?.value).toEqual(e);
      expect(got?.key).toBe(e.domain_id);
    }
    // One domain, one partition: per-domain order is what keying by domain id buys.
    const partitionsOfDomain = new Map<string, Set<number>>();
    for (const { key, partition } of received.values()) {
      partitionsOfDomain.set(key, (partitionsOfDomain.get(key) ?? new Set()).add(partition));
    }
    for (const parts of partitionsOfDomain.values()) expect(parts.size).toBe(1);
    // And it is the partition the Java client would pick (murmur2), which partitionForKey predicts.
    for (const { key, partition } of received.values()) expect(partitionForKey(key, 3)).toBe(partition);
  });

  it('refuses an event outside the catalog or the schema, naming the field, before it reaches Kafka', async () => {
    const good = eventGenerator({ domains: 1 })();
    await expect(producer.send([{ ...good, type: 'activity.teleported' }])).rejects.toMatchObject({
      field: 'type',
    });
    const bad = { ...good, created_at: 'yesterday' } as unknown as EmailEvent;
    const error = await producer.send([bad]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidEventError);
    expect((error as InvalidEventError).field).toBe('created_at');
  });
});
