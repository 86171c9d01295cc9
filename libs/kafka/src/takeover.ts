/**
 * Two consumer groups that read one topic in turn: the fan-out's (two-stage deployment) and the
 * batcher's events group (BATCHER_INPUT=events). Whichever starts takes over where the other stopped,
 * so switching either way neither repeats nor skips records; and it refuses to start while the other
 * group has members, as both would process every record.
 */
import type { Logger } from '@hookpost/logger';
import type { Admin } from 'kafkajs';

interface TakeOver {
  topic: string;
  /** The other group: it must have no members. */
  from: string;
  /** Our group. */
  to: string;
  /** Why the two may not run together, for the refusal (names what to change). */
  refusal: string;
  log: Logger;
}

/**
 * Moves `to`'s committed offset of each partition up to `from`'s where `from`'s is ahead (or `to` has
 * none): offsets only move forward, and only one of the two groups runs at a time, so the group
 * further on is the one that ran last. Nothing is moved while `to` has members: one of ours is
 * already running, so it took over at its own start (and the broker refuses offsets of a live group).
 */
export async function takeOverOffsets(admin: Admin, o: TakeOver): Promise<void> {
  const described = await admin.describeGroups([o.from, o.to]);
  const members = (g: string) => described.groups.find((d) => d.groupId === g)?.members.length ?? 0;
  if (members(o.from) > 0)
    throw new Error(`the consumer group ${o.from} has ${members(o.from)} member(s): ${o.refusal}`);
  if (members(o.to) > 0) return;
  const committed = async (groupId: string) =>
    new Map(
      ((await admin.fetchOffsets({ groupId, topics: [o.topic] }))[0]?.partitions ?? [])
        .filter((p) => Number(p.offset) >= 0)
        .map((p) => [p.partition, BigInt(p.offset)]),
    );
  const [ours, theirs] = await Promise.all([committed(o.to), committed(o.from)]);
  const behind = [...theirs]
    .filter(([partition, offset]) => offset > (ours.get(partition) ?? -1n))
    .map(([partition, offset]) => ({ partition, offset: offset.toString() }));
  if (behind.length === 0) return;
  await admin.setOffsets({ groupId: o.to, topic: o.topic, partitions: behind });
  o.log.info(
    { topic: o.topic, from: o.from, to: o.to, partitions: behind.length },
    `took over ${o.from}'s committed offsets`,
  );
}
