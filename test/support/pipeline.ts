import type { EmailEvent } from '@hookpost/events';
import { MtaProducer } from '@hookpost/events';
import { eventGenerator } from '@hookpost/loadgen';
import type { TestEnv } from './env.ts';
import { uniq } from './env.ts';

export interface Tailed<T> {
  key: string | null;
  value: T;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

/**
 * Reads a JSON topic from the beginning into `records` as they arrive: read_committed unless asked
 * (a read_uncommitted tail also shows records of open and aborted transactions).
 */
export async function tail<T>(env: TestEnv, topic: string, options: { readUncommitted?: boolean } = {}) {
  const records: Tailed<T>[] = [];
  const consumer = env.kafka.consumer({
    groupId: uniq('tail'),
    maxWaitTimeInMs: 100,
    readUncommitted: options.readUncommitted ?? false,
  });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message, partition }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      records.push({
        key: message.key?.toString() ?? null,
        value: JSON.parse(message.value!.toString()) as T,
        partition,
        offset: message.offset,
        headers,
      });
    },
  });
  return { records, close: () => consumer.disconnect() };
}

/** An MTA producer for the test's events topic plus an event factory for one domain and type. */
export async function mta(env: TestEnv) {
  const producer = new MtaProducer({
    kafka: env.kafka,
    registry: env.registry,
    registryUrl: env.registryUrl,
    topic: env.catalog.topics.events.name,
  });
  await producer.connect();
  const gens = new Map<string, () => EmailEvent>();
  const make = (
    domain: string,
    type: EmailEvent['type'],
    overrides: Partial<EmailEvent> = {},
  ): EmailEvent => {
    const k = `${domain}|${type}`;
    let g = gens.get(k);
    if (!g) {
      g = eventGenerator({ domains: 1, seed: gens.size + 1, mix: { [type]: 1 }, domainId: () => domain });
      gens.set(k, g);
    }
    return { ...g(), ...overrides };
  };
  return { producer, make };
}
