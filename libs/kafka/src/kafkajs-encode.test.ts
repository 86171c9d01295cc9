import { createRequire } from 'node:module';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  crc32C,
  groupMessagesPerPartition,
  original,
  produceRequest,
  Record,
  type RecordArgs,
  RecordBatch,
  type RecordBatchArgs,
  request,
  useOriginalEncoder,
} from './kafkajs-encode.ts';

const require = createRequire(import.meta.url);
// biome-ignore lint/suspicious/noExplicitAny: KafkaJS's untyped internals
const Encoder = require('kafkajs/src/protocol/encoder.js') as any;
// biome-ignore lint/suspicious/noExplicitAny: KafkaJS's untyped internals
const Long = require('kafkajs/src/utils/long.js') as any;

/** The bytes an encoding gives with KafkaJS's own encoder, then with ours. */
async function both(run: (mine: boolean) => Promise<{ buffer: Buffer }> | { buffer: Buffer }) {
  useOriginalEncoder(true);
  let theirs: Buffer;
  try {
    theirs = Buffer.from((await run(false)).buffer);
  } finally {
    useOriginalEncoder(false);
  }
  const mine = Buffer.from((await run(true)).buffer);
  return { theirs, mine };
}
afterEach(() => useOriginalEncoder(false));

const text = fc.string({ unit: 'binary', maxLength: 300 });
const bytes = (max: number) => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));
const keyOrValue = (max: number) => fc.oneof(fc.constant(null), text, bytes(max));
const headerValue = fc.oneof(text, bytes(50));
const headers = fc.dictionary(
  fc.string({ maxLength: 20 }),
  fc.oneof(headerValue, fc.array(headerValue, { maxLength: 3 })),
  { maxKeys: 4 },
);
const record: fc.Arbitrary<RecordArgs> = fc.record({
  offsetDelta: fc.integer({ min: 0, max: 100_000 }),
  // Int32 range and past it (a record timestamped days apart in one batch).
  timestampDelta: fc.oneof(
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
  ),
  key: keyOrValue(300),
  // Values across the 512-byte first buffer and KafkaJS's regrowth (up to 20 000 bytes).
  value: fc.oneof(keyOrValue(600), bytes(20_000)),
  headers: fc.option(headers, { nil: undefined }),
});

/** A produce request in its frame, as the connection sends it. */
const framedRequest = (mine: boolean, a: Parameters<typeof produceRequest>[0]) =>
  (mine ? request : original.request)({
    correlationId: 77,
    clientId: 'hookpost-fanout',
    request: mine ? produceRequest(a) : original.produce(a),
  });

describe('KafkaJS produce encoding with fewer copies', () => {
  it('varints and varlongs are the bytes KafkaJS writes, at and past every length boundary', async () => {
    const edges = [
      0,
      1,
      -1,
      63,
      64,
      -64,
      -65,
      8191,
      8192,
      2 ** 20,
      2 ** 27,
      2 ** 30,
      2 ** 31 - 1,
      -(2 ** 31),
    ];
    for (const v of edges) {
      const { theirs, mine } = await both(() => new Encoder().writeVarInt(v).writeUVarInt(v >>> 0));
      expect(mine).toEqual(theirs);
    }
    for (const v of [
      ...edges,
      2 ** 31,
      -(2 ** 31) - 1,
      2 ** 40,
      -(2 ** 52),
      Long.fromValue(-1),
      Long.MAX_VALUE,
    ]) {
      const { theirs, mine } = await both(() => new Encoder().writeVarLong(v));
      expect(mine).toEqual(theirs);
    }
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.maxSafeInteger(), (a, b) => {
        useOriginalEncoder(true);
        const theirs = Buffer.from(new Encoder().writeVarInt(a).writeVarLong(a).writeVarLong(b).buffer);
        useOriginalEncoder(false);
        expect(Buffer.from(new Encoder().writeVarInt(a).writeVarLong(a).writeVarLong(b).buffer)).toEqual(
          theirs,
        );
      }),
      { numRuns: 2_000 },
    );
  });

  it("the CRC-32C is KafkaJS's, natively, on 0 to 300 000 bytes", () => {
    expect(crc32C).not.toBe(original.crc32C);
    expect(crc32C(Buffer.from('123456789'))).toBe(0xe3069283);
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 100 }), fc.uint8Array({ maxLength: 300_000 })), (a) => {
        const b = Buffer.from(a);
        expect(crc32C(b)).toBe(original.crc32C(b));
      }),
      { numRuns: 300 },
    );
  });

  it('a record is the bytes KafkaJS writes (keys, values, headers and timestamps of every shape)', async () => {
    await fc.assert(
      fc.asyncProperty(record, async (r) => {
        const { theirs, mine } = await both((m) => (m ? Record(r) : original.Record(r)));
        expect(mine).toEqual(theirs);
      }),
      { numRuns: 1_000 },
    );
  });

  it('a batch of 0, 1, 500 and 5 000 records, transactional or not, is the bytes KafkaJS writes', async () => {
    const batch = (records: RecordArgs[]) =>
      fc.record({
        transactional: fc.boolean(),
        producerId: fc.oneof(fc.constant(Long.fromValue(-1)), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
        producerEpoch: fc.integer({ min: 0, max: 32_767 }),
        firstSequence: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        firstTimestamp: fc.integer({ min: 0, max: 2 ** 42 }),
        partitionLeaderEpoch: fc.integer({ min: 0, max: 1000 }),
        records: fc.constant(records),
      });
    for (const n of [0, 1, 500, 5_000]) {
      const records = fc.sample(record, { numRuns: n, seed: n });
      const [args] = fc.sample(batch(records), { numRuns: 1, seed: n });
      const full = { ...args!, maxTimestamp: args!.firstTimestamp + 1000, lastOffsetDelta: n - 1 };
      const { theirs, mine } = await both((m) => {
        const encoded = records.map((r, i) => (m ? Record : original.Record)({ ...r, offsetDelta: i }));
        const a = { ...full, records: encoded } as RecordBatchArgs;
        return m ? RecordBatch(a) : original.RecordBatch(a);
      });
      expect(mine.length).toBe(theirs.length);
      expect(mine.equals(theirs)).toBe(true);
    }
  });

  it('a compressed batch is left to KafkaJS', async () => {
    const records = fc.sample(record, { numRuns: 50, seed: 7 });
    const a = { compression: 1, records: records.map((r) => original.Record(r)) } as RecordBatchArgs;
    const mine = await RecordBatch({ ...a, firstTimestamp: 5, maxTimestamp: 5 });
    useOriginalEncoder(true);
    const theirs = await original.RecordBatch({ ...a, firstTimestamp: 5, maxTimestamp: 5 });
    expect(Buffer.from(mine.buffer)).toEqual(Buffer.from(theirs.buffer));
  });

  it('a produce request (topics, partitions, timestamps given or not, transactional or not) is the bytes KafkaJS writes', async () => {
    const now = vi.spyOn(Date, 'now').mockReturnValue(1_750_000_000_000);
    try {
      const message = fc.record({
        key: keyOrValue(100),
        value: fc.oneof(keyOrValue(600), bytes(5_000)),
        headers: fc.option(headers, { nil: undefined }),
        timestamp: fc.option(
          fc.oneof(
            fc.integer({ min: 1_700_000_000_000, max: 1_760_000_000_000 }),
            fc.integer({ min: 1_700_000_000_000, max: 1_760_000_000_000 }).map(String),
          ),
          { nil: undefined },
        ),
      });
      const args = fc.record({
        acks: fc.constantFrom(-1, 0, 1),
        timeout: fc.integer({ min: 0, max: 60_000 }),
        transactionalId: fc.option(fc.string({ maxLength: 40 }), { nil: null }),
        producerId: fc.oneof(fc.constant(Long.fromValue(-1)), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
        producerEpoch: fc.integer({ min: 0, max: 32_767 }),
        topicData: fc.array(
          fc.record({
            topic: fc.string({ minLength: 1, maxLength: 60 }),
            partitions: fc.array(
              fc.record({
                partition: fc.integer({ min: 0, max: 1_000 }),
                firstSequence: fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { nil: undefined }),
                messages: fc.array(message, { minLength: 1, maxLength: 40 }),
              }),
              { minLength: 1, maxLength: 4 },
            ),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      });
      await fc.assert(
        fc.asyncProperty(args, async (a) => {
          const { theirs, mine } = await both((m) => (m ? produceRequest(a) : original.produce(a)).encode());
          expect(mine.equals(theirs)).toBe(true);
          expect(produceRequest(a).apiVersion).toBe(original.produce(a).apiVersion);
          // Framed: ours writes the payload after room left for the frame, KafkaJS copies it in.
          const framed = await both((m) => framedRequest(m, a));
          expect(framed.mine.equals(framed.theirs)).toBe(true);
        }),
        { numRuns: 300 },
      );
      // One partition of 1 000 records of ~1 KB, as the fan-out and the batcher send.
      const big = {
        acks: -1,
        timeout: 30_000,
        transactionalId: 'hookpost-fanout-0',
        producerId: 42,
        producerEpoch: 3,
        topicData: [
          {
            topic: 'webhooks.dispatch',
            partitions: [
              { partition: 7, firstSequence: 9, messages: fc.sample(message, { numRuns: 1_000, seed: 3 }) },
            ],
          },
        ],
      };
      const { theirs, mine } = await both((m) => (m ? produceRequest(big) : original.produce(big)).encode());
      expect(mine.equals(theirs)).toBe(true);
      const framed = await both((m) => framedRequest(m, big));
      expect(framed.mine.equals(framed.theirs)).toBe(true);
      expect(framed.mine.readInt32BE(0)).toBe(framed.mine.length - 4);
    } finally {
      now.mockRestore();
    }
  });

  it('a compressed produce request is left to KafkaJS (gzip: the same bytes as its own)', async () => {
    const messages = fc
      .sample(record, { numRuns: 50, seed: 11 })
      .map((r) => ({ ...r, timestamp: 1_750_000_000_000 }));
    const a = {
      acks: 1,
      timeout: 5,
      compression: 1,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages }] }],
    };
    const { theirs, mine } = await both((m) => (m ? produceRequest(a) : original.produce(a)).encode());
    expect(mine.equals(theirs)).toBe(true);
    const uncompressed = await produceRequest({ ...a, compression: 0 }).encode();
    expect(uncompressed.offset).toBeGreaterThan(mine.length);
  });

  it("a request's frame is the bytes KafkaJS writes, with and without a client id", async () => {
    for (const clientId of [null, '', 'hookpost-fanout', 'ünïcödé-☃'])
      for (const size of [0, 1, 511, 512, 100_000]) {
        const payload = Buffer.alloc(size, 7);
        const req = (m: boolean) =>
          (m ? request : original.request)({
            correlationId: 123_456,
            clientId,
            request: { apiKey: 0, apiVersion: 3, encode: async () => new Encoder().writeBuffer(payload) },
          });
        const { theirs, mine } = await both(req);
        expect(mine.equals(theirs)).toBe(true);
      }
  });

  it("groups a send's messages by partition as KafkaJS does, in order, 1 to 5 000 messages", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ key: fc.string(), p: fc.nat(40) }), { minLength: 1, maxLength: 5_000 }),
        fc.integer({ min: 0, max: 41 }),
        (messages, n) => {
          const g = {
            topic: 't',
            partitionMetadata: Array.from({ length: n }, (_, i) => ({ partitionId: i, leader: 0 })),
            messages,
            partitioner: ({ message }: { message: object }) => (message as { p: number }).p % Math.max(n, 1),
          };
          const mine = groupMessagesPerPartition(g);
          const theirs = original.groupMessagesPerPartition(g);
          expect(Object.keys(mine)).toEqual(Object.keys(theirs));
          expect(mine).toEqual(theirs);
        },
      ),
      { numRuns: 200 },
    );
  });
});
