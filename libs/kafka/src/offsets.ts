/**
 * Topic offsets for code outside libs/kafka, which never opens a KafkaJS admin client itself. KafkaJS
 * asks for offsets read_committed, so `high` is the last stable offset. Right after a topic is created
 * (a fresh cluster, the provisioning Job just ran) its partitions may not have a leader yet and the
 * broker answers "not the leader": that is transient and retried (errors.ts) until the deadline.
 */
import type { Kafka } from 'kafkajs';
import { type RetryOptions, retryTransient } from './errors.ts';

export interface PartitionOffsets {
  partition: number;
  low: number;
  high: number;
}

async function withAdmin<T>(
  kafka: Kafka,
  work: (admin: ReturnType<Kafka['admin']>) => Promise<T>,
): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

async function fetchOffsets(admin: ReturnType<Kafka['admin']>, topic: string, options: RetryOptions) {
  const offsets = await retryTransient(() => admin.fetchTopicOffsets(topic), options);
  return offsets.map((o) => ({ partition: o.partition, low: Number(o.low), high: Number(o.high) }));
}

/** Low and high (stable) offsets of every partition of `topic`. */
export function topicOffsets(
  kafka: Kafka,
  topic: string,
  options: RetryOptions = {},
): Promise<PartitionOffsets[]> {
  return withAdmin(kafka, (admin) => fetchOffsets(admin, topic, options));
}

/** The offset of the last record of each non-empty partition: what "read to the end as of now" aims for. */
export async function lastOffsets(
  kafka: Kafka,
  topic: string,
  options: RetryOptions = {},
): Promise<Map<number, number>> {
  return lastOf(await topicOffsets(kafka, topic, options));
}

function lastOf(offsets: PartitionOffsets[]): Map<number, number> {
  return new Map(offsets.filter((o) => o.high > o.low).map((o) => [o.partition, o.high - 1]));
}

/** Polls the offsets of `topic` (one admin client) until `done` holds; throws after `timeoutMs`. */
export function waitForOffsets(
  kafka: Kafka,
  topic: string,
  done: (offsets: PartitionOffsets[]) => boolean,
  { timeoutMs = 15_000, pollMs = 50 }: { timeoutMs?: number; pollMs?: number } = {},
): Promise<void> {
  return withAdmin(kafka, async (admin) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (done(await fetchOffsets(admin, topic, { timeoutMs }))) return;
      if (Date.now() > deadline)
        throw new Error(`offsets of ${topic} not as expected within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, pollMs));
    }
  });
}

/**
 * Offsets through one admin client kept connected, for code that asks often (the API on each request):
 * topic ends, a group's lag, which topics exist. KafkaJS stays behind it.
 */
export class OffsetsClient {
  private readonly admin: ReturnType<Kafka['admin']>;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  connect(): Promise<void> {
    return this.admin.connect();
  }

  disconnect(): Promise<void> {
    return this.admin.disconnect();
  }

  /** Names of the topics that exist (one metadata request). */
  topics(): Promise<string[]> {
    return this.admin.listTopics();
  }

  /** The offset of the last record of each non-empty partition of `topic`. */
  async last(topic: string, options: RetryOptions = {}): Promise<Map<number, number>> {
    return lastOf(await fetchOffsets(this.admin, topic, options));
  }

  /**
   * Records of `topic` the group has not committed past, over all partitions (a partition without a
   * committed offset counts from its low offset); null when the group has committed nothing yet on a
   * topic that holds records (0 when it holds none: there is nothing to be behind on).
   */
  async groupLag(groupId: string, topic: string): Promise<number | null> {
    const ends = await fetchOffsets(this.admin, topic, { timeoutMs: 0 });
    const [committed] = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    if (![...at.values()].some((o) => o >= 0)) return ends.every((e) => e.high <= e.low) ? 0 : null;
    let lag = 0;
    for (const e of ends) {
      const c = at.get(e.partition) ?? -1;
      lag += Math.max(0, e.high - (c >= 0 ? c : e.low));
    }
    return lag;
  }
}
