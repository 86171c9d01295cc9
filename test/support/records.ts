import { provisionTopics, serialProducer } from '@hookpost/kafka';
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
  const p = serialProducer(env.kafka);
  await p.producer.connect();
  await p.send(
    topic,
    values.map((v) => ({ key: v, value: v })),
  );
  await p.disconnect();
}
