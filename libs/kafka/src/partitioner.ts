/**
 * The Java client's partitioner (murmur2 of the key's bytes, positive, modulo the partition count), so a
 * key lands on the same partition whichever language produced it, computed in 32-bit arithmetic.
 * KafkaJS's own (DefaultPartitioner) gives the same partitions, but emulates the 32-bit multiplications
 * with a 64-bit Long object per step and copies the topic's partition list for every message: with a
 * record per event, that and KafkaJS's grouping were ~6 % of the fan-out's CPU in the bench's `tp`
 * profile (issue 15). partitioner.test.ts checks both against KafkaJS's on generated keys.
 */
import { Partitioners } from 'kafkajs';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;

/** Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2) of `data`, a signed 32-bit int. */
function murmur2Bytes(data: Uint8Array): number {
  const length = data.length;
  let h = SEED ^ length;
  const tail = length & ~3;
  for (let i = 0; i < tail; i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M) ^ k;
  }
  // The last 1-3 bytes, in turn (Java's switch falls through).
  const rest = length & 3;
  if (rest >= 3) h ^= data[tail + 2]! << 16;
  if (rest >= 2) h ^= data[tail + 1]! << 8;
  if (rest >= 1) {
    h ^= data[tail]!;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/** Keys as KafkaJS hashes them: a Buffer's bytes, anything else as the UTF-8 of its String(). */
export function murmur2(key: Buffer | string | number): number {
  return murmur2Bytes(Buffer.isBuffer(key) ? key : Buffer.from(String(key)));
}

/** The partition of `key` among `partitions` (Java's Utils.toPositive(murmur2(key)) % partitions). */
export function keyPartition(key: Buffer | string | number, partitions: number): number {
  return (murmur2(key) & 0x7fffffff) % partitions;
}

interface PartitionerArgs {
  topic: string;
  partitionMetadata: { partitionId: number; leader: number }[];
  message: { key?: Buffer | string | null; partition?: number | null };
}

/**
 * For `createPartitioner`: an explicit partition wins, a key is hashed as above, and a record without
 * either goes round robin as KafkaJS's does (to it, then).
 */
export function JavaPartitioner(): (args: PartitionerArgs) => number {
  const roundRobin = Partitioners.DefaultPartitioner();
  return (args) => {
    const { message, partitionMetadata } = args;
    if (message.partition !== null && message.partition !== undefined) return message.partition;
    if (message.key !== null && message.key !== undefined)
      return keyPartition(message.key, partitionMetadata.length);
    return roundRobin(args as Parameters<typeof roundRobin>[0]);
  };
}
