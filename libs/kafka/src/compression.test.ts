import { gzipSync, zstdCompressSync } from 'node:zlib';
// First: the package fixes KafkaJS before anything else loads it, and registers the codecs.
import './index.ts';
import fc from 'fast-check';
import kafkajs from 'kafkajs';
import { compressFrameSync } from 'lz4-napi';
import { compressSync } from 'snappy';
import { describe, expect, it } from 'vitest';
import {
  CompressionError,
  lz4Bound,
  MAX_DECOMPRESSED_BYTES,
  snappyDecompress,
  snappyXerialCompress,
} from './compression.ts';

interface Codec {
  compress(encoder: { buffer: Buffer }): Promise<Buffer>;
  decompress(buffer: Buffer): Promise<Buffer>;
}
const { CompressionCodecs, CompressionTypes } = kafkajs;
const codec = (type: number) => (CompressionCodecs as unknown as Record<number, () => Codec>)[type]!();
const named = [
  ['gzip', CompressionTypes.GZIP],
  ['snappy', CompressionTypes.Snappy],
  ['lz4', CompressionTypes.LZ4],
  ['zstd', CompressionTypes.ZSTD],
] as const;

/** Bytes that compress well and bytes that do not, across snappy-java's 32 KiB block. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 2_000 }),
  fc.uint8Array({ minLength: 30_000, maxLength: 100_000 }),
  fc
    .tuple(fc.string({ minLength: 1, maxLength: 20 }), fc.integer({ min: 1, max: 10_000 }))
    .map(([s, n]) => new TextEncoder().encode(s.repeat(n))),
);

describe('compression codecs registered for KafkaJS', () => {
  it.each(named)('%s: what it compresses decompresses to the same bytes', async (_name, type) => {
    const c = codec(type);
    await fc.assert(
      fc.asyncProperty(payload, async (bytes) => {
        const input = Buffer.from(bytes);
        const out = await c.decompress(await c.compress({ buffer: input }));
        expect(out.equals(input)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('snappy reads one raw block (librdkafka, franz-go) and the xerial framing (Java), several blocks', () => {
    const input = Buffer.from('hookpost '.repeat(10_000)); // 90 000 bytes: three 32 KiB blocks
    expect(snappyDecompress(compressSync(input)).equals(input)).toBe(true);
    // Built by hand from snappy-java's format: magic, version 1, compatible 1, then length-prefixed blocks.
    const blocks = [input.subarray(0, 32_768), input.subarray(32_768, 65_536), input.subarray(65_536)];
    const framed = Buffer.concat([
      Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]),
      ...blocks.flatMap((b) => {
        const block = compressSync(b);
        const length = Buffer.alloc(4);
        length.writeUInt32BE(block.length);
        return [length, block];
      }),
    ]);
    expect(snappyDecompress(framed).equals(input)).toBe(true);
    // What we write is that framing, block for block.
    expect(snappyXerialCompress(input).equals(framed)).toBe(true);
    expect(snappyDecompress(snappyXerialCompress(Buffer.alloc(0))).length).toBe(0);
  });

  it('a batch that would expand past the bound is refused, at the bound it is read', async () => {
    const at = Buffer.alloc(MAX_DECOMPRESSED_BYTES);
    const past = Buffer.alloc(MAX_DECOMPRESSED_BYTES + 1);
    const zstd = codec(CompressionTypes.ZSTD);
    expect((await zstd.decompress(zstdCompressSync(at))).length).toBe(MAX_DECOMPRESSED_BYTES);
    await expect(zstd.decompress(zstdCompressSync(past))).rejects.toThrow(CompressionError);
    await expect(zstd.decompress(zstdCompressSync(past))).rejects.toThrow(/more than/);
    await expect(zstd.decompress(zstdCompressSync(Buffer.alloc(8 * MAX_DECOMPRESSED_BYTES)))).rejects.toThrow(
      /zstd/,
    );
    // KafkaJS's own gzip codec had no bound: 256 MiB of zeros is ~250 KiB of gzip (1 GiB fits a batch).
    const gzip = codec(CompressionTypes.GZIP);
    expect((await gzip.decompress(gzipSync(at))).length).toBe(MAX_DECOMPRESSED_BYTES);
    await expect(gzip.decompress(gzipSync(past))).rejects.toThrow(/gzip batch would decompress to more than/);
    const gzipBomb = gzipSync(Buffer.alloc(256 * 1024 * 1024), { level: 1 });
    expect(gzipBomb.length).toBeLessThan(2 * 1024 * 1024);
    await expect(gzip.decompress(gzipBomb)).rejects.toThrow(CompressionError);
    const snappy = codec(CompressionTypes.Snappy);
    expect((await snappy.decompress(compressSync(at))).length).toBe(MAX_DECOMPRESSED_BYTES);
    await expect(snappy.decompress(compressSync(past))).rejects.toThrow(/more than/);
    // Blocks that are each small but together past the bound.
    await expect(snappy.decompress(snappyXerialCompress(past))).rejects.toThrow(/more than/);
    const lz4 = codec(CompressionTypes.LZ4);
    expect((await lz4.decompress(await lz4.compress({ buffer: at }))).length).toBe(MAX_DECOMPRESSED_BYTES);
    await expect(lz4.decompress(await lz4.compress({ buffer: past }))).rejects.toThrow(/more than/);
  }, 60_000);

  it.each(named)(
    '%s: arbitrary bytes decompress or fail with a CompressionError, never otherwise',
    async (_name, type) => {
      const c = codec(type);
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 3_000 }), async (bytes) => {
          try {
            await c.decompress(Buffer.from(bytes));
          } catch (error) {
            expect(error).toBeInstanceOf(CompressionError);
          }
        }),
        { numRuns: 300 },
      );
    },
  );

  it('lz4: the bound read from block headers covers what a frame holds, and refuses a bomb unread', async () => {
    await fc.assert(
      fc.property(payload, (bytes) => {
        const frame = compressFrameSync(Buffer.from(bytes));
        const most = lz4Bound(frame);
        expect(most).not.toBeNull();
        expect(most!).toBeGreaterThanOrEqual(bytes.length);
        // Full blocks but the last: within one block (4 MiB at most) of the truth.
        expect(most! - bytes.length).toBeLessThanOrEqual(4 * 1024 * 1024);
      }),
      { numRuns: 60 },
    );
    // 250 MiB of zeros is just under 1 MiB of lz4: about the most one batch of the events topic holds.
    const bomb = compressFrameSync(Buffer.alloc(250 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(1024 * 1024);
    await expect(codec(CompressionTypes.LZ4).decompress(bomb)).rejects.toThrow(
      /lz4 batch would decompress to \d+ bytes, more than 67108864/,
    );
    // Unread: with its first block's data spoilt, the decoder would fail on it; the bound refuses first.
    const spoilt = Buffer.from(bomb);
    const flg = spoilt[4]!;
    const first = 7 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0);
    spoilt.fill(0xff, first + 4, first + 4 + (spoilt.readUInt32LE(first) & 0x7fffffff));
    await expect(codec(CompressionTypes.LZ4).decompress(spoilt)).rejects.toThrow(/more than 67108864/);
    // Whatever the bytes, a number or null (left to the decoder), never a throw.
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, framed) => {
        const b = Buffer.from(bytes);
        if (framed && b.length >= 4) b.writeUInt32LE(0x184d2204, 0);
        const most = lz4Bound(b);
        expect(most === null || Number.isFinite(most)).toBe(true);
      }),
      { numRuns: 2_000 },
    );
  });
});
