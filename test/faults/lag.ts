/**
 * Consumer-group lag as an operator sees it: per group, the committed offsets (admin fetchOffsets)
 * against the input topic's high watermarks, summed over partitions. The admin client is replaced when
 * a call fails, so a poll survives the broker going away and coming back.
 */
import { groupIds } from '@hookpost/delivery';
import { type Admin, connectAdmin, type Kafka, type TopicCatalog } from '@hookpost/kafka';

export interface GroupInput {
  /** Short label for reports. */
  name: string;
  group: string;
  topic: string;
}

export interface GroupLag {
  lag: number;
  /** Sum of the input's high watermarks when it was read. */
  high: number;
  /** Partitions whose committed offset trails the high watermark: "p<partition>:<committed>/<high>". */
  behind: string[];
}

/**
 * Every consumer group the services commit to, named as they name them: fan-out and batcher by their
 * default FANOUT_GROUP_ID / BATCHER_GROUP_ID behind the topic prefix, delivery's from its own
 * definitions (main, one per tier, suspender).
 */
export function serviceGroups(prefix: string, catalog: TopicCatalog, tiers: string[]): GroupInput[] {
  const d = groupIds(prefix);
  const t = catalog.topics;
  return [
    { name: 'fanout', group: `${prefix}hookpost-fanout`, topic: t.events.name },
    { name: 'batcher', group: `${prefix}hookpost-batcher`, topic: t.dispatch.name },
    { name: 'delivery', group: d.main, topic: t.batches.name },
    ...tiers.map((tier) => ({
      name: `delivery-${tier}`,
      group: d.tier(tier),
      topic: catalog.retryTopic(tier),
    })),
    { name: 'suspender', group: d.suspender, topic: t.dlq.name },
  ];
}

/** Longest one read of every group's lag may take before it counts as no answer. */
const READ_BOUND_MS = 15_000;

export class LagReader {
  private admin: Admin | undefined;
  private readonly kafka: Kafka;
  private readonly brokers: string[];

  constructor(kafka: Kafka, brokers: string[]) {
    this.kafka = kafka;
    this.brokers = brokers;
  }

  /**
   * Lag of every group, or undefined while the broker does not answer. A read that takes longer than
   * READ_BOUND_MS counts as no answer and drops the admin client: a KafkaJS admin request on a
   * connection from before a broker restart was seen to never settle, which held the caller's
   * waitFor (it bounds the attempts, not one attempt) for good.
   */
  async read(groups: GroupInput[]): Promise<Map<string, GroupLag> | undefined> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const bound = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('lag read timed out')), READ_BOUND_MS);
      });
      const read = async () => {
        this.admin ??= await connectAdmin(this.kafka, this.brokers, 5_000);
        const out = new Map<string, GroupLag>();
        for (const g of groups) out.set(g.name, await this.one(this.admin, g));
        return out;
      };
      const work = read();
      // A read that lost the race may still fail once its admin is dropped: nothing waits for it.
      work.catch(() => {});
      return await Promise.race([work, bound]);
    } catch {
      const old = this.admin;
      this.admin = undefined;
      await old?.disconnect().catch(() => {});
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Groups with this prefix that have committed offsets (to check `serviceGroups` misses none). */
  async committingGroups(prefix: string): Promise<string[]> {
    this.admin ??= await connectAdmin(this.kafka, this.brokers, 5_000);
    const { groups } = await this.admin.listGroups();
    const out: string[] = [];
    for (const { groupId } of groups.filter((g) => g.groupId.startsWith(prefix))) {
      const offsets = await this.admin.fetchOffsets({ groupId });
      if (offsets.some((t) => t.partitions.some((p) => Number(p.offset) >= 0))) out.push(groupId);
    }
    return out.sort();
  }

  private async one(admin: Admin, g: GroupInput): Promise<GroupLag> {
    // High watermarks first: a commit landing between the two reads can only make the lag look larger.
    const ends = await admin.fetchTopicOffsets(g.topic);
    const [committed] = await admin.fetchOffsets({ groupId: g.group, topics: [g.topic] });
    let lag = 0;
    let high = 0;
    const behind: string[] = [];
    for (const e of ends) {
      const c = Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1);
      const from = Math.max(c, Number(e.low));
      high += Number(e.high);
      if (Number(e.high) > from) {
        lag += Number(e.high) - from;
        behind.push(`p${e.partition}:${c}/${e.high}`);
      }
    }
    return { lag, high, behind };
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => {});
    this.admin = undefined;
  }
}
