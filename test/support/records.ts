import { createProducer, provisionTopics } from '@hookpost/kafka';
import { type TestEnv, uniq } from './env.ts';

/** An input and an output topic of `partitions` partitions, named after `label`. */
export async function inOutTopics(env: TestEnv, label: string, partitions: number) {
  const base = `${env.prefix}${uniq(label)}`;
  await provisionTopics(env.admin, [
    { name: `${base}.in`, partitions, config: {}, doc: 'test' },
    { name: `${base}.out`, partitions, config: {}, doc: 'test' },
  ]);
  return { input: `${base}.in`, output: `${base}.out` };
}

/** Produces each value as a record keyed by itself (idempotent producer). */
export async function produceValues(env: TestEnv, topic: string, values: string[]) {
  const p = createProducer(env.kafka, { idempotent: true, maxInFlightRequests: 1 });
  await p.connect();
  await p.send({ topic, messages: values.map((v) => ({ key: v, value: v })) });
  await p.disconnect();
}
