/**
 * Snappy, LZ4 and zstd for KafkaJS, which reads only uncompressed and gzip batches by itself (and gzip
 * with no bound on what it inflates to, so its codec is replaced too): a record
 * batch in any other codec failed the whole fetch it came in (KafkaJSNotImplemented), again at every
 * retry, so one MTA producing with compression stalled every partition fetched beside it. Clients
 * compress by default in places (franz-go: snappy; many teams set `compression.type=lz4` or `zstd` in
 * Java and librdkafka), and the events topic is written by MTAs we do not control.
 *
 * Registered once, when @hookpost/kafka loads (KafkaJS keeps one table for the process). Libraries
 * where a library does it better: `snappy` and `lz4-napi` (native, prebuilt for each platform, kept
 * by the napi-rs community), zstd and gzip from Node's own zlib. Our producers still send uncompressed.
 *
 * - Snappy: Kafka's Java client writes snappy-java's xerial framing (a magic header, then blocks, each
 *   with its length); librdkafka and franz-go write one raw snappy block. Both are read; we write the
 *   xerial framing, which every client reads.
 * - LZ4: the LZ4 frame format, as Kafka has used since the v2 record batch (KafkaJS reads no older).
 * - zstd: one or more zstd frames.
 *
 * A batch may decompress to at most MAX_DECOMPRESSED_BYTES: the broker bounds a batch's compressed
 * size only, and a small batch of zeros can expand a thousandfold.
 */
import { promisify } from 'node:util';
import { gzip as gzipCompress, unzip, zstdCompress, zstdDecompress } from 'node:zlib';
import kafkajs from 'kafkajs';
import { compressFrame, decompressFrame } from 'lz4-napi';
import { compressSync as snappyCompress, uncompressSync as snappyUncompress } from 'snappy';

/** Bytes one compressed batch may expand to (a batch's records, uncompressed). */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024;

/** What KafkaJS hands a codec to compress: its encoder of the batch's records. */
interface KafkaJSEncoder {
  buffer: Buffer;
}

interface Codec {
  compress(encoder: KafkaJSEncoder): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}

/** snappy-java's stream header: magic, then its version and the oldest version that can read it. */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_BYTES = XERIAL_MAGIC.length + 8;
/** snappy-java's default block size. */
const XERIAL_BLOCK_BYTES = 32 * 1024;

export class CompressionError extends Error {
  override name = 'CompressionError';
}

function bounded(bytes: number, codec: string): void {
  if (bytes > MAX_DECOMPRESSED_BYTES)
    throw new CompressionError(
      `${codec} batch would decompress to ${bytes} bytes, more than ${MAX_DECOMPRESSED_BYTES}`,
    );
}

/** A snappy block's uncompressed length: the varint it starts with. */
function snappyLength(block: Buffer): number {
  let length = 0;
  for (let i = 0, shift = 0; i < 5 && i < block.length; i++, shift += 7) {
    const b = block[i]!;
    length += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) return length;
  }
  throw new CompressionError('snappy block without a readable length');
}

function snappyBlock(block: Buffer, total: number): Buffer {
  bounded(total + snappyLength(block), 'snappy');
  try {
    return snappyUncompress(block, { asBuffer: true }) as Buffer;
  } catch (error) {
    throw new CompressionError(`snappy block unreadable: ${(error as Error).message}`);
  }
}

export function snappyDecompress(buffer: Buffer): Buffer {
  if (buffer.length < XERIAL_HEADER_BYTES || !buffer.subarray(0, XERIAL_MAGIC.length).equals(XERIAL_MAGIC))
    return snappyBlock(buffer, 0);
  const blocks: Buffer[] = [];
  let total = 0;
  for (let at = XERIAL_HEADER_BYTES; at < buffer.length; ) {
    if (at + 4 > buffer.length) throw new CompressionError('xerial snappy stream cut inside a block length');
    const length = buffer.readUInt32BE(at);
    at += 4;
    if (at + length > buffer.length) throw new CompressionError('xerial snappy stream cut inside a block');
    const block = snappyBlock(buffer.subarray(at, at + length), total);
    total += block.length;
    blocks.push(block);
    at += length;
  }
  return Buffer.concat(blocks, total);
}

export function snappyXerialCompress(input: Buffer): Buffer {
  const parts: Buffer[] = [XERIAL_MAGIC, Buffer.from([0, 0, 0, 1, 0, 0, 0, 1])];
  for (let at = 0; at < input.length; at += XERIAL_BLOCK_BYTES) {
    const block = snappyCompress(input.subarray(at, at + XERIAL_BLOCK_BYTES));
    const length = Buffer.allocUnsafe(4);
    length.writeUInt32BE(block.length);
    parts.push(length, block);
  }
  return Buffer.concat(parts);
}

const snappy: Codec = {
  compress: async (encoder) => snappyXerialCompress(encoder.buffer),
  decompress: async (buffer) => snappyDecompress(buffer),
};

const LZ4_MAGIC = 0x184d2204;
/** Block maximum sizes by the BD byte's bits 6-4 (LZ4 frame format 1.6.x). */
const LZ4_BLOCK_MAX: Record<number, number> = {
  4: 64 * 1024,
  5: 256 * 1024,
  6: 1024 * 1024,
  7: 4 * 1024 * 1024,
};

/**
 * The most bytes LZ4 frames can decompress to, read from their block headers alone (each compressed
 * block at most the frame's block maximum, each stored block its own size), so a bomb is refused
 * before anything is allocated: lz4-napi has no output limit, and lz4 expands up to 255-fold, so a
 * 1 MiB batch could ask for 255 MiB. The content size a frame may declare is not trusted. Frames that
 * do not parse are left to the decoder to refuse.
 */
export function lz4Bound(buffer: Buffer): number | null {
  let bound = 0;
  let at = 0;
  while (at < buffer.length) {
    if (at + 7 > buffer.length || buffer.readUInt32LE(at) !== LZ4_MAGIC) return null;
    const flg = buffer[at + 4]!;
    const blockMax = LZ4_BLOCK_MAX[(buffer[at + 5]! >> 4) & 0x7];
    if (blockMax === undefined) return null;
    at += 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
    for (;;) {
      if (at + 4 > buffer.length) return null;
      const word = buffer.readUInt32LE(at);
      at += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      bound += word & 0x80000000 ? size : blockMax;
      at += size + (flg & 0x10 ? 4 : 0);
    }
    if (flg & 0x04) at += 4;
  }
  return bound;
}

const lz4: Codec = {
  compress: (encoder) => compressFrame(encoder.buffer),
  decompress: async (buffer) => {
    // Refused unread when its blocks could hold more than the bound: encoders fill every block but a
    // frame's last, so for what they write the bound is the size within one block.
    const most = lz4Bound(buffer);
    if (most !== null) bounded(most, 'lz4');
    let out: Buffer;
    try {
      out = await decompressFrame(buffer);
    } catch (error) {
      throw new CompressionError(`lz4 frame unreadable: ${(error as Error).message}`);
    }
    bounded(out.length, 'lz4');
    return out;
  },
};

/** zlib's refusal of an output past maxOutputLength, in the words of the other codecs. */
function zlibError(codec: string, error: Error): CompressionError {
  return new CompressionError(
    (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE'
      ? `${codec} batch would decompress to more than ${MAX_DECOMPRESSED_BYTES} bytes`
      : `${codec} data unreadable: ${error.message}`,
  );
}

/** A codec of Node's zlib, its output bounded by maxOutputLength (zlib stops there). */
function zlibCodec(
  name: string,
  compress: (input: Buffer) => Promise<Buffer>,
  decompress: (input: Buffer, options: { maxOutputLength: number }) => Promise<Buffer>,
): Codec {
  return {
    compress: (encoder) => compress(encoder.buffer),
    decompress: (buffer) =>
      decompress(buffer, { maxOutputLength: MAX_DECOMPRESSED_BYTES }).catch((error: Error) => {
        throw zlibError(name, error);
      }),
  };
}

/** KafkaJS's own gzip codec, with the bound: zlib would otherwise inflate a 1 MiB batch to 1 GiB. */
const gzip = zlibCodec('gzip', promisify(gzipCompress), promisify(unzip));
const zstd = zlibCodec('zstd', promisify(zstdCompress), promisify(zstdDecompress));

// KafkaJS is CommonJS: its table is a property of the module object, not a named export Node can see.
const { CompressionCodecs, CompressionTypes } = kafkajs;
const codecs = CompressionCodecs as unknown as Record<number, () => Codec>;
codecs[CompressionTypes.GZIP] = () => gzip;
codecs[CompressionTypes.Snappy] = () => snappy;
codecs[CompressionTypes.LZ4] = () => lz4;
codecs[CompressionTypes.ZSTD] = () => zstd;
