import { AvroCodec, emailEventSchema, registerSchema, valueSubject } from '@hookpost/events';
import { provisionTopics } from '@hookpost/kafka';
import { eventGenerator } from '@hookpost/loadgen';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it, type Owner } from '../support/fixtures.ts';

// v2 of the email event: what a later release might add. A new field with a default is BACKWARD
// compatible; a new field without one is not and the registry must refuse it.
const v1 = emailEventSchema();
const v2 = {
  ...v1,
  fields: [...(v1.fields as object[]), { name: 'ip_pool', type: ['null', 'string'], default: null }],
};
const breaking = { ...v1, fields: [...(v1.fields as object[]), { name: 'stream', type: 'string' }] };

let env: TestEnv;
let topic: string;

it.beforeAll(async ({ env: e }) => {
  env = e;
  topic = env.catalog.topics.events.name;
  await provisionTopics(env.admin, [env.catalog.topics.events]);
});

async function readAll(opened: Owner, groupReader: Record<string, unknown>, count: number) {
  const codec = new AvroCodec<Record<string, unknown>>(env.registry, groupReader);
  const out: Record<string, unknown>[] = [];
  const consumer = opened.own(env.kafka.consumer({ groupId: uniq('g'), maxWaitTimeInMs: 100 }), (c) =>
    c.disconnect(),
  );
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const r = await codec.decode(message.value);
      if (!r.ok) throw new Error(`${r.reason}: ${r.error}`);
      out.push(r.value);
    },
  });
  await waitFor(() => out.length === count, { what: `${count} records` });
  await consumer.disconnect();
  return out;
}

describe('schema evolution under BACKWARD compatibility', () => {
  it('old and new consumers both read records written with either schema version', async ({
    producer,
    opened,
  }) => {
    const subject = valueSubject(topic);
    const id1 = await registerSchema(env.registry, env.registryUrl, subject, v1);
    const id2 = await registerSchema(env.registry, env.registryUrl, subject, v2);
    expect(id2).not.toBe(id1);
    // Registering the same schema again is idempotent.
    expect(await registerSchema(env.registry, env.registryUrl, subject, v2)).toBe(id2);

    const gen = eventGenerator({ domains: 2 });
    const oldEvent = gen();
    const newEvent = { ...gen(), ip_pool: 'pool-a' };
    await producer.send(topic, [
      { key: oldEvent.domain_id, value: new AvroCodec(env.registry, v1).encode(id1, oldEvent) },
      { key: newEvent.domain_id, value: new AvroCodec(env.registry, v2).encode(id2, newEvent) },
    ]);

    const byOld = await readAll(opened, v1, 2);
    expect(byOld.find((e) => e.id === newEvent.id)).not.toHaveProperty('ip_pool');
    expect(byOld.find((e) => e.id === oldEvent.id)).toEqual(oldEvent);

    const byNew = await readAll(opened, v2, 2);
    expect(byNew.find((e) => e.id === oldEvent.id)?.ip_pool).toBeNull();
    expect(byNew.find((e) => e.id === newEvent.id)?.ip_pool).toBe('pool-a');
  });

  it('the registry refuses a version that breaks BACKWARD compatibility', async () => {
    const subject = valueSubject(`${topic}-breaking`);
    await registerSchema(env.registry, env.registryUrl, subject, v1);
    // Refused as incompatible (409), not failed for another reason: a registry that never answered
    // once passed a bare toThrow() here after the client's timeout.
    await expect(registerSchema(env.registry, env.registryUrl, subject, breaking)).rejects.toMatchObject({
      status: 409,
    });
  });
});
