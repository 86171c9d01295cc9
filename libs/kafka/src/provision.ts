import type { Logger } from '@hookpost/logger';
import kafkajs, { type Admin } from 'kafkajs';
import type { TopicSpec } from './definitions.ts';
import { classifyKafkaError } from './errors.ts';

// KafkaJS is CommonJS and Node's export detection misses this enum; take it from the default export.
export const { ConfigResourceTypes } = kafkajs;

export interface ProvisionResult {
  created: string[];
  updated: string[];
  unchanged: string[];
}

/**
 * Makes the broker match the catalog, idempotently: creates missing topics, raises partition counts
 * that are too low (never lowers them: Kafka cannot) and sets configs that differ. Safe to run from
 * every service at start-up and from the provisioning Job.
 */
export async function provisionTopics(
  admin: Admin,
  specs: TopicSpec[],
  logger?: Logger,
): Promise<ProvisionResult> {
  const result: ProvisionResult = { created: [], updated: [], unchanged: [] };
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.name));
  if (missing.length > 0) {
    await admin.createTopics({
      waitForLeaders: false,
      topics: missing.map((s) => ({
        topic: s.name,
        numPartitions: s.partitions,
        configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
      })),
    });
    await waitForLeaders(
      admin,
      missing.map((s) => s.name),
    );
    await waitForServing(
      admin,
      missing.map((s) => s.name),
    );
    result.created.push(...missing.map((s) => s.name));
  }
  const present = specs.filter((s) => existing.has(s.name));
  if (present.length === 0) return result;

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((s) => s.name) });
  const partitionsOf = new Map(metadata.topics.map((t) => [t.name, t.partitions.length]));
  const described = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((s) => ({
      type: ConfigResourceTypes.TOPIC,
      name: s.name,
      configNames: Object.keys(s.config),
    })),
  });
  const configsOf = new Map(
    described.resources.map((r) => [
      r.resourceName,
      new Map(r.configEntries.map((e) => [e.configName, e.configValue])),
    ]),
  );
  for (const spec of present) {
    let changed = false;
    const current = partitionsOf.get(spec.name) ?? 0;
    if (current < spec.partitions) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.name, count: spec.partitions }] });
      changed = true;
    }
    const have = configsOf.get(spec.name) ?? new Map<string, string>();
    const diff = Object.entries(spec.config).filter(([k, v]) => have.get(k) !== v);
    if (diff.length > 0) {
      // alterConfigs replaces the whole set of dynamic configs, so send every key of the spec.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: spec.name,
            configEntries: Object.entries(spec.config).map(([name, value]) => ({ name, value })),
          },
        ],
      });
      changed = true;
    }
    (changed ? result.updated : result.unchanged).push(spec.name);
  }
  if (logger && (result.created.length > 0 || result.updated.length > 0)) {
    logger.info({ created: result.created, updated: result.updated }, 'topics provisioned');
  }
  return result;
}

/**
 * Asks `ready` again, backing off from 50 ms to 1 s, until it holds; a transient error counts as not
 * yet, any other is thrown; past `timeoutMs` it throws `Error(failure)`.
 */
async function until(ready: () => Promise<boolean>, failure: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      if (await ready()) return;
    } catch (error) {
      if (classifyKafkaError(error) !== 'transient') throw error;
    }
    if (Date.now() > deadline) throw new Error(failure);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/**
 * KafkaJS's own waitForLeaders gives up when the metadata answer is "unknown topic", which a broker
 * busy loading partitions after a restart gives for a topic it has just created. Ask again until
 * every partition has a leader, within a bound.
 */
function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 60_000): Promise<void> {
  return until(
    async () => {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      return meta.length === topics.length && meta.every((t) => t.partitions.every((p) => p.leader >= 0));
    },
    `topics ${topics.join(', ')} have no partition leaders after ${timeoutMs} ms`,
    timeoutMs,
  );
}

/**
 * Until every partition of the new topics answers a ListOffsets request. Metadata can name a leader
 * before that broker has applied the partition (KRaft), and a produce then fails with "not the leader":
 * an idempotent producer that retries it after a later request to the same new partition succeeded
 * gets "out of order sequence number" for good (KAFKA-15591; seen here once in a test's set-up).
 * ListOffsets is served by the partition's leader itself, so once it answers, produces land.
 */
function waitForServing(admin: Admin, topics: string[], timeoutMs = 60_000): Promise<void> {
  return until(
    async () => {
      for (const topic of topics) await admin.fetchTopicOffsets(topic);
      return true;
    },
    `topics ${topics.join(', ')} are not served by their partition leaders after ${timeoutMs} ms`,
    timeoutMs,
  );
}
