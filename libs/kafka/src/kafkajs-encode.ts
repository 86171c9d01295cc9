/**
 * Produce requests encoded with fewer copies and allocations, for KafkaJS 2.2.4 (unmaintained), applied
 * before KafkaJS loads (libs/kafka/src/index.ts imports this first). The bytes on the wire are the same
 * as KafkaJS's own (kafkajs-encode.test.ts compares them on generated records).
 *
 * KafkaJS encodes a record into an Encoder of its own (a zero-filled 512-byte buffer, regrown and copied
 * when the record is bigger), then copies it into the batch's encoder (regrown by doubling, copying the
 * whole batch each time), the batch into another encoder to put the CRC in front, that one into a third
 * for the length, and the request into two more; every varint is an array and a Buffer of its own. In
 * the fan-out's profile (bench `tp`, 100 000 events) buffer copies were 15 % of its CPU and allocation
 * the garbage collector's 5 % more (issue 15 point 2). Here a produce request is sized first and written
 * into one frame of its exact size, records in place (a record's key and value copied once), varints
 * are written in place, and the CRC is computed natively.
 */
import { createRequire } from 'node:module';
import { releaseBytes } from './release-bytes.ts';

const require = createRequire(import.meta.url);

interface Encoder {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeInt8(v: number): Encoder;
  writeInt16(v: number): Encoder;
  writeInt32(v: number): Encoder;
  writeUInt32(v: number): Encoder;
  writeInt64(v: unknown): Encoder;
  writeString(v: string | null): Encoder;
  writeVarInt(v: number): Encoder;
  writeUVarInt(v: number): Encoder;
  writeVarLong(v: unknown): Encoder;
  writeVarIntBytes(v: unknown): Encoder;
  writeVarIntString(v: string | null): Encoder;
  writeEncoder(v: Encoder): Encoder;
  size(): number;
  readonly buffer: Buffer;
}
interface EncoderClass {
  new (initialSize?: number): Encoder;
  prototype: Encoder;
  encodeZigZag(v: number): number;
  sizeOfVarInt(v: number): number;
  sizeOfVarLong(v: unknown): number;
  sizeOfVarIntBytes(v: unknown): number;
}
export interface RecordArgs {
  offsetDelta?: number;
  timestampDelta?: number;
  key?: Buffer | string | null;
  value?: Buffer | string | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}
export interface RecordBatchArgs {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: number;
  maxTimestamp?: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: Encoder[];
}
export interface RequestArgs {
  correlationId: number;
  clientId: string | null;
  request: { apiKey: number; apiVersion: number; encode(): Promise<Encoder> };
}
type RecordFn = (args: RecordArgs) => Encoder;
type RecordBatchFn = (args: RecordBatchArgs) => Promise<Encoder>;
type RequestFn = (args: RequestArgs) => Promise<Encoder>;
interface ProduceMessage extends RecordArgs {
  timestamp?: number | string | null;
}
export interface ProduceArgs {
  acks: number;
  timeout: number;
  transactionalId?: string | null;
  producerId?: unknown;
  producerEpoch?: number;
  compression?: number;
  topicData: {
    topic: string;
    partitions: { partition: number; firstSequence?: number; messages: ProduceMessage[] }[];
  }[];
}
type ProduceFn = (args: ProduceArgs) => { apiKey: number; apiVersion: number; encode(): Promise<Encoder> };

const path = (p: string) => require.resolve(`kafkajs/src/protocol/${p}`);
for (const loaded of [
  path('requests/produce/v3/request.js'),
  path('recordBatch/v0/index.js'),
  require.resolve('kafkajs/src/network/connection.js'),
]) {
  if (require.cache[loaded]) {
    throw new Error(
      'kafkajs was loaded before @hookpost/kafka could patch its encoder; import @hookpost/kafka first',
    );
  }
}

const Encoder = require(path('encoder.js')) as EncoderClass;
const Long = require('kafkajs/src/utils/long.js') as {
  fromValue(v: unknown): unknown;
  fromInt(v: number): unknown;
};
const jsCrc32C = require(path('recordBatch/crc32C/index.js')) as (b: Buffer) => number;
/**
 * CRC-32C of a batch (unsigned), natively (@node-rs/crc32: SSE 4.2 or ARMv8 instructions) where its
 * build for the platform is installed, else KafkaJS's table walk of one byte at a time, which was ~10 %
 * of the batcher's CPU in the bench's `tp` profile (it checksums every batch it produces, ~1.4 KB/event).
 */
export const crc32C: (b: Buffer) => number = (() => {
  try {
    const { crc32c } = require('@node-rs/crc32') as { crc32c(input: Buffer, initial?: number): number };
    return (b: Buffer) => crc32c(b) >>> 0;
  } catch {
    return jsCrc32C;
  }
})();
const NONE = 0;
const TRANSACTIONAL_MASK = 16;
const MAGIC_BYTE = 2;

/** KafkaJS's own functions, before this module replaced them (the test's reference). */
export const original = {
  Record: require(path('recordBatch/record/v0/index.js')) as RecordFn,
  RecordBatch: (require(path('recordBatch/v0/index.js')) as { RecordBatch: RecordBatchFn }).RecordBatch,
  request: require(path('request.js')) as RequestFn,
  crc32C: jsCrc32C,
  ensureAvailable: Encoder.prototype.ensureAvailable,
  writeUVarInt: Encoder.prototype.writeUVarInt,
  writeVarLong: Encoder.prototype.writeVarLong,
  produce: require(path('requests/produce/v3/request.js')) as ProduceFn,
  groupMessagesPerPartition: require('kafkajs/src/producer/groupMessagesPerPartition.js') as (
    g: Grouping,
  ) => Record<number, object[]>,
};

/**
 * An encoder over a buffer of exactly `size` bytes (not zero-filled: only what is written is read); from
 * 4 KiB a buffer of its own, not a slice of Node's 64 KiB pool slabs, so a produce request's frame can be
 * freed once answered (see RELEASE).
 */
const OWN_BUFFER_BYTES = 4096;
function sized(size: number): Encoder {
  const e = Object.create(Encoder.prototype) as Encoder;
  e.buf = size >= OWN_BUFFER_BYTES ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
  e.offset = 0;
  return e;
}

/** Int32-range numbers (a timestamp delta, always, in practice): the 64-bit zigzag is the 32-bit one. */
const smallInt = (v: unknown): v is number => typeof v === 'number' && (v | 0) === v;

const patched = {
  /** Grows as KafkaJS does (next power of two), without zero-filling what is overwritten anyway. */
  ensureAvailable(this: Encoder, length: number): void {
    if (this.offset + length > this.buf.length) {
      const grown = Buffer.allocUnsafe(1 << (32 - Math.clz32(this.offset + length)));
      this.buf.copy(grown, 0, 0, this.offset);
      this.buf = grown;
    }
  },
  writeUVarInt(this: Encoder, value: number): Encoder {
    // Exactly the bytes it takes: at the end of an exact-size buffer (a record's header count) a
    // blanket 5 would regrow and copy the whole record.
    let bytes = 1;
    for (let x = value; (x & 0xffffff80) !== 0; x >>>= 7) bytes += 1;
    this.ensureAvailable(bytes);
    let v = value;
    while ((v & 0xffffff80) !== 0) {
      this.buf[this.offset++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.offset++] = v & 0x7f;
    return this;
  },
  writeVarLong(this: Encoder, value: unknown): Encoder {
    if (smallInt(value)) return this.writeUVarInt(Encoder.encodeZigZag(value));
    return original.writeVarLong.call(this, value);
  },
};

interface Header {
  key: string;
  value: Buffer | string;
}

/** A record's headers as KafkaJS writes them: in key order given, an array's values one after another. */
function headerList(headers: RecordArgs['headers']): Header[] {
  const out: Header[] = [];
  if (!headers) return out;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (Array.isArray(value)) for (const v of value) out.push({ key, value: v });
    else out.push({ key, value: value as Buffer | string });
  }
  return out;
}

const sizeOfVarIntString = (s: string | null | undefined): number => {
  if (s == null) return Encoder.sizeOfVarInt(-1);
  const n = Buffer.byteLength(s, 'utf8');
  return Encoder.sizeOfVarInt(n) + n;
};

/** A record's fields, with its deltas, and the size of what follows its length varint. */
interface PlannedRecord {
  args: RecordArgs;
  headers: Header[];
  body: number;
}

function planRecord(args: RecordArgs): PlannedRecord {
  const { offsetDelta = 0, timestampDelta = 0, key, value } = args;
  const headers = headerList(args.headers);
  let body =
    1 +
    (smallInt(timestampDelta)
      ? Encoder.sizeOfVarInt(timestampDelta)
      : Encoder.sizeOfVarLong(timestampDelta)) +
    Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(key) +
    Encoder.sizeOfVarIntBytes(value) +
    Encoder.sizeOfVarInt(headers.length);
  for (const h of headers) body += sizeOfVarIntString(h.key) + Encoder.sizeOfVarIntBytes(h.value);
  return { args, headers, body };
}

const recordBytes = (r: PlannedRecord) => Encoder.sizeOfVarInt(r.body) + r.body;

/** Record v0 (Length, Attributes, TimestampDelta, OffsetDelta, Key, Value, Headers) at `e`'s offset. */
function writeRecord(e: Encoder, { args, headers, body }: PlannedRecord): void {
  const { offsetDelta = 0, timestampDelta = 0, key, value } = args;
  e.writeVarInt(body)
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key)
    .writeVarIntBytes(value)
    .writeVarInt(headers.length);
  for (const h of headers) e.writeVarIntString(h.key).writeVarIntBytes(h.value);
}

/** Record v0 in one buffer of its size (KafkaJS's RecordBatch takes records encoded on their own). */
export function Record(args: RecordArgs): Encoder {
  const planned = planRecord(args);
  const e = sized(recordBytes(planned));
  writeRecord(e, planned);
  return e;
}

type BatchHeader = Omit<RecordBatchArgs, 'compression' | 'records'>;

/** RecordBatch v2's size, from its records' bytes: FirstOffset 8, Length 4, then what Length counts. */
const batchBytes = (records: number) => 8 + 4 + batchLength(records);
// PartitionLeaderEpoch 4, Magic 1, CRC 4, Attributes 2, LastOffsetDelta 4, FirstTimestamp 8,
// MaxTimestamp 8, ProducerId 8, ProducerEpoch 2, FirstSequence 4, the records' count 4.
const batchLength = (records: number) => 49 + records;

/**
 * RecordBatch v2, uncompressed, at `e`'s offset: its header, the records `writeRecords` writes (exactly
 * `bytes` bytes of `count` records), then the CRC-32C of everything after the CRC.
 */
function writeBatch(e: Encoder, header: BatchHeader, count: number, bytes: number, writeRecords: () => void) {
  const {
    firstOffset = Long.fromInt(0),
    firstTimestamp = Date.now(),
    maxTimestamp = Date.now(),
    partitionLeaderEpoch = 0,
    lastOffsetDelta = 0,
    transactional = false,
    producerId = Long.fromValue(-1),
    producerEpoch = 0,
    firstSequence = 0,
  } = header;
  e.writeInt64(firstOffset)
    .writeInt32(batchLength(bytes))
    .writeInt32(partitionLeaderEpoch)
    .writeInt8(MAGIC_BYTE);
  const crcAt = e.offset;
  e.offset += 4;
  const bodyAt = e.offset;
  // Attributes: no compression (else KafkaJS's own), the transactional bit.
  e.writeInt16(transactional ? TRANSACTIONAL_MASK : 0)
    .writeInt32(lastOffsetDelta)
    .writeInt64(firstTimestamp)
    .writeInt64(maxTimestamp)
    .writeInt64(producerId)
    .writeInt16(producerEpoch)
    .writeInt32(firstSequence)
    .writeInt32(count);
  const end = e.offset + bytes;
  writeRecords();
  if (e.offset !== end)
    throw new Error(`record batch: wrote ${e.offset - bodyAt} bytes, planned ${end - bodyAt}`);
  e.buf.writeUInt32BE(crc32C(e.buf.subarray(bodyAt, e.offset)), crcAt);
}

/** RecordBatch v2 of records encoded on their own (KafkaJS's signature), in one buffer, uncompressed. */
export async function RecordBatch(args: RecordBatchArgs): Promise<Encoder> {
  const { compression = NONE, records = [] } = args;
  if (compression !== NONE || records.some((r) => typeof r !== 'object')) return original.RecordBatch(args);
  let bytes = 0;
  for (const r of records) bytes += r.offset;
  const e = sized(batchBytes(bytes));
  writeBatch(e, args, records.length, bytes, () => {
    for (const r of records) {
      r.buf.copy(e.buf, e.offset, 0, r.offset);
      e.offset += r.offset;
    }
  });
  return e;
}

/** Produce request frames freed once answered (see RELEASE), for the tests. */
export const releasedFrames = { count: 0 };

/**
 * A request whose payload can be written after room left for its frame, so the frame is not a copy of
 * it (ours, for produce requests; any other request's payload is copied into the frame).
 */
const FRAMED = Symbol('hookpost.encodeAfter');
/** Frees the last frame `FRAMED` wrote (the request was answered, so it is on the wire and unused). */
const RELEASE = Symbol('hookpost.releaseFrame');
interface Framed {
  [FRAMED]?: (headroom: number) => Encoder;
  [RELEASE]?: () => void;
}

/** A request's frame (Size, then ApiKey, ApiVersion, CorrelationId, ClientId and the payload) in one buffer. */
export async function request({ correlationId, clientId, request: req }: RequestArgs): Promise<Encoder> {
  const { apiKey, apiVersion } = req;
  // Size 4, ApiKey 2, ApiVersion 2, CorrelationId 4, ClientId (length and bytes).
  const head = 4 + 8 + 2 + (clientId == null ? 0 : Buffer.byteLength(clientId, 'utf8'));
  const after = (req as Framed)[FRAMED];
  let e: Encoder;
  let end: number;
  if (after) {
    e = after(head);
    end = e.offset;
    e.offset = 0;
  } else {
    const payload = await req.encode();
    end = head + payload.offset;
    e = sized(end);
    payload.buf.copy(e.buf, head, 0, payload.offset);
  }
  e.writeInt32(end - 4)
    .writeInt16(apiKey)
    .writeInt16(apiVersion)
    .writeInt32(correlationId)
    .writeString(clientId);
  e.offset = end;
  return e;
}

/**
 * Produce request v3 (v4 to v7 are v3's with another version number): KafkaJS writes each record into
 * an encoder of its own, those into the partition's batch, the batch into another for its CRC, the
 * batches into the topic's encoder, the topics into the request's, then the request into its frame,
 * each a 512-byte buffer doubled and copied as it grows. Here every size is worked out first, then
 * the frame is one buffer of its exact size and the records are written into it in place: a record's
 * key and value are copied once. Compressed sends are KafkaJS's own.
 */
export function produceRequest(args: ProduceArgs) {
  const req = original.produce(args) as ReturnType<ProduceFn> & Framed;
  const { compression = NONE, topicData, transactionalId = null, acks, timeout } = args;
  if (compression !== NONE) return req;
  const { producerId = Long.fromInt(-1), producerEpoch = 0 } = args;
  const transactional = !!transactionalId;
  const encodeAfter = (headroom: number): Encoder => {
    // TransactionalId (length and bytes), Acks, Timeout, the topics' count.
    let size = 2 + (transactionalId == null ? 0 : Buffer.byteLength(transactionalId, 'utf8')) + 2 + 4 + 4;
    const topics = topicData.map(({ topic, partitions }) => {
      // Topic (length and bytes), the partitions' count; then per partition its number and the batch's size.
      size += 2 + Buffer.byteLength(topic, 'utf8') + 4;
      return partitions.map(({ partition, firstSequence, messages }) => {
        const batch = planBatch(messages, { producerId, producerEpoch, firstSequence, transactional });
        size += 4 + 4 + batchBytes(batch.bytes);
        return { partition, batch };
      });
    });
    const e = sized(headroom + size);
    e.offset = headroom;
    e.writeString(transactionalId).writeInt16(acks).writeInt32(timeout).writeInt32(topicData.length);
    topicData.forEach(({ topic }, t) => {
      const partitions = topics[t]!;
      e.writeString(topic).writeInt32(partitions.length);
      for (const { partition, batch } of partitions) {
        e.writeInt32(partition).writeInt32(batchBytes(batch.bytes));
        writeBatch(e, batch.header, batch.records.length, batch.bytes, () => {
          for (const r of batch.records) writeRecord(e, r);
        });
      }
    });
    if (e.offset !== headroom + size)
      throw new Error(`produce request: wrote ${e.offset - headroom} bytes, planned ${size}`);
    req[RELEASE] = () => {
      if (releaseBytes(e.buf)) releasedFrames.count += 1;
    };
    return e;
  };
  req.encode = async () => encodeAfter(0);
  req[FRAMED] = encodeAfter;
  return req;
}

/** One partition's batch, planned with KafkaJS's timestamps and deltas (produce v3's partitionsEncoder). */
function planBatch(
  messages: ProduceMessage[],
  ids: Pick<RecordBatchArgs, 'producerId' | 'producerEpoch' | 'firstSequence' | 'transactional'>,
): { header: BatchHeader; records: PlannedRecord[]; bytes: number } {
  const dateNow = Date.now();
  // KafkaJS sorts the given timestamps as strings (Array.prototype.sort without a comparator).
  const stamps = messages
    .map((m) => m.timestamp)
    .filter((t) => t != null)
    .sort();
  const first = (stamps.length === 0 ? dateNow : stamps[0]) as number;
  const max = (stamps.length === 0 ? dateNow : stamps[stamps.length - 1]) as number;
  let bytes = 0;
  const records = messages.map((m, i) => {
    const r = planRecord({
      ...m,
      offsetDelta: i,
      timestampDelta: ((m.timestamp as number) || dateNow) - first,
    });
    bytes += recordBytes(r);
    return r;
  });
  return {
    header: { firstTimestamp: first, maxTimestamp: max, ...ids, lastOffsetDelta: records.length - 1 },
    records,
    bytes,
  };
}

interface Grouping {
  topic: string;
  partitionMetadata: unknown[];
  messages: object[];
  partitioner(args: { topic: string; partitionMetadata: unknown[]; message: object }): number;
}

/**
 * KafkaJS's groupMessagesPerPartition (the messages of one send, by partition, in order) in linear time:
 * KafkaJS's copies the partition's array and the result object for every message, quadratic in the
 * messages one partition gets in a send (the batcher sends up to 1 000, the fan-out's dispatch 1 000 over
 * its partitions).
 */
export function groupMessagesPerPartition({ topic, partitionMetadata, messages, partitioner }: Grouping) {
  const result: Record<number, object[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list) list.push(message);
    else result[partition] = [message];
  }
  return result;
}

/** Puts KafkaJS's own back, or ours (the test compares the two). */
export function useOriginalEncoder(on: boolean): void {
  const p = Encoder.prototype;
  p.ensureAvailable = on ? original.ensureAvailable : patched.ensureAvailable;
  p.writeUVarInt = on ? original.writeUVarInt : patched.writeUVarInt;
  p.writeVarLong = on ? original.writeVarLong : patched.writeVarLong;
}

useOriginalEncoder(false);
require.cache[path('recordBatch/record/v0/index.js')]!.exports = Record;
(require.cache[path('recordBatch/v0/index.js')]!.exports as { RecordBatch: RecordBatchFn }).RecordBatch =
  RecordBatch;
require.cache[path('request.js')]!.exports = request;
require.cache[path('requests/produce/v3/request.js')]!.exports = produceRequest;
require.cache[path('recordBatch/crc32C/index.js')]!.exports = crc32C;
const groupingPath = require.resolve('kafkajs/src/producer/groupMessagesPerPartition.js');
require(groupingPath);
require.cache[groupingPath]!.exports = groupMessagesPerPartition;

// After the swaps above: connection.js takes request.js's exports as it loads.
interface ConnectionProto {
  send(protocol: { request: Framed & { expectResponse?: () => boolean } }): Promise<unknown>;
}
const Connection = require('kafkajs/src/network/connection.js') as { prototype: ConnectionProto };
const send = Connection.prototype.send;
/**
 * A produce request's frame is freed once the broker has answered it (see releaseBytes): an answer
 * means every byte was written, and KafkaJS encodes a request anew for each retry. Not on an error (a
 * timed-out request may still be in the socket's queue), nor for a request that expects no answer
 * (acks 0: `send` returns once it is queued).
 */
Connection.prototype.send = async function (this: ConnectionProto, protocol) {
  const result = await send.call(this, protocol);
  const { request } = protocol;
  if (!request.expectResponse || request.expectResponse()) request[RELEASE]?.();
  return result;
};
