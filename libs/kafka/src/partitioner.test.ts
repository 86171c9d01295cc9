import { createRequire } from 'node:module';
import fc from 'fast-check';
import { Partitioners } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { JavaPartitioner, keyPartition, murmur2 } from './partitioner.ts';

const require = createRequire(import.meta.url);
const kafkajsMurmur2 = require('kafkajs/src/producer/partitioners/default/murmur2.js') as (
  key: Buffer | string,
) => number;

const metadata = (n: number) => Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0 }));
const key = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
  fc.uuid(),
);

describe('the Java partitioner in 32-bit arithmetic', () => {
  it("gives Kafka's own murmur2 test vectors (clients UtilsTest)", () => {
    const cases: [string | Buffer, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      [Buffer.from('abc'), 479470107],
    ];
    for (const [k, h] of cases) expect(murmur2(k)).toBe(h);
  });

  it("hashes every key as KafkaJS's murmur2 does (strings of any code points, bytes of every length)", () => {
    fc.assert(
      fc.property(key, (k) => {
        expect(murmur2(k)).toBe(kafkajsMurmur2(k));
      }),
      { numRuns: 5_000 },
    );
  });

  it("picks KafkaJS's DefaultPartitioner's partition for keyed and explicit records, 1 to 1 000 partitions", () => {
    const ours = JavaPartitioner();
    const theirs = Partitioners.DefaultPartitioner();
    fc.assert(
      fc.property(
        key,
        fc.integer({ min: 1, max: 1000 }),
        fc.option(fc.nat(999), { nil: undefined }),
        (k, n, p) => {
          const partition = p === undefined ? undefined : p % n;
          const args = {
            topic: 't',
            partitionMetadata: metadata(n),
            message: { key: k, value: null, partition },
          };
          expect(ours(args)).toBe(theirs(args as never));
          if (partition === undefined) expect(keyPartition(k, n)).toBe(ours(args));
        },
      ),
      { numRuns: 5_000 },
    );
  });

  it('spreads records without a key over the partitions, round robin', () => {
    const ours = JavaPartitioner();
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++)
      seen.add(ours({ topic: 't', partitionMetadata: metadata(12), message: { key: null } }));
    expect(seen.size).toBe(12);
  });
});
