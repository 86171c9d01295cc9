/**
 * What the hostile-records test watches: one read-committed tail over every topic the product reads
 * (the highest record offsets seen, and the dead letters), consumer-group lag from the broker's
 * committed offsets, and counters from the services' /metrics.
 */
import type { DeadLetter } from '@hookpost/contracts';
import type { TestEnv } from '../../support/env.ts';
import { uniq } from '../../support/env.ts';

export interface TopicTail {
  /** Offsets of the records read, per `topic|partition`. */
  offsets: Map<string, number[]>;
  /** Highest offset any fetched batch reached (data or control records), per `topic|partition`. */
  fetched: Map<string, number>;
  letters: DeadLetter[];
  close(): Promise<void>;
}

export async function tailTopics(env: TestEnv, topics: string[], dlq: string): Promise<TopicTail> {
  const offsets = new Map<string, number[]>();
  const fetched = new Map<string, number>();
  const letters: DeadLetter[] = [];
  const consumer = env.kafka.consumer({ groupId: uniq('hostile-tail'), maxWaitTimeInMs: 100 });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.firstOffset === null || payload.firstOffset === undefined) return;
    const k = `${payload.topic}|${payload.partition}`;
    fetched.set(k, Math.max(fetched.get(k) ?? -1, Number(payload.lastOffset)));
  });
  await consumer.connect();
  for (const topic of topics) await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      const k = `${topic}|${partition}`;
      const list = offsets.get(k) ?? [];
      offsets.set(k, list);
      list.push(Number(message.offset));
      if (topic !== dlq || !message.value) return;
      try {
        const v = JSON.parse(message.value.toString('utf8')) as DeadLetter;
        if (v && typeof v === 'object' && v.reason === 'poison' && v.source) letters.push(v);
      } catch {
        // the test's own hostile records on the DLQ
      }
    },
  });
  return { offsets, fetched, letters, close: () => consumer.disconnect() };
}

/**
 * Records a group has not committed past, on `topic`, counting only records a read-committed reader
 * sees (commit markers after the last record are not lag). Undefined while the tail is behind.
 */
export async function lagOf(
  env: TestEnv,
  tail: TopicTail,
  groupId: string,
  topic: string,
): Promise<number | undefined> {
  const ends = await env.admin.fetchTopicOffsets(topic);
  const [committed] = await env.admin.fetchOffsets({ groupId, topics: [topic] });
  let lag = 0;
  for (const end of ends) {
    const k = `${topic}|${end.partition}`;
    if (Number(end.high) > Number(end.low) && (tail.fetched.get(k) ?? -1) < Number(end.high) - 1)
      return undefined;
    const c = Number(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
    lag += (tail.offsets.get(k) ?? []).filter((o) => o >= Math.max(c, 0)).length;
  }
  return lag;
}

/** Sum of a metric's samples whose labels match every given label regex. */
export function sampleSum(text: string, name: string, labels: Record<string, RegExp> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const body = /\{([^}]*)\}/.exec(line)?.[1] ?? '';
    const got = Object.fromEntries(
      [...body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!] as const),
    );
    if (Object.entries(labels).every(([k, re]) => re.test(got[k] ?? '')))
      sum += Number(line.split(' ').at(-1));
  }
  return sum;
}

/** The event ids a receiver was sent, per request path. */
export function receivedIds(requests: { path: string; body: string }[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const r of requests) {
    const set = out.get(r.path) ?? new Set<string>();
    out.set(r.path, set);
    const items: unknown[] = [];
    try {
      const v = JSON.parse(r.body) as unknown;
      if (Array.isArray(v)) items.push(...v);
    } catch {
      for (const line of r.body.split('\n')) if (line.trim()) items.push(JSON.parse(line));
    }
    for (const i of items) {
      const id = (i as { data?: { id?: unknown } })?.data?.id;
      if (typeof id === 'string') set.add(id);
    }
  }
  return out;
}
