/**
 * Frees a Buffer's memory now instead of at the garbage collector's next full collection.
 *
 * A Buffer's bytes live outside the V8 heap, and a Buffer that survived two young-generation
 * collections keeps them until the next mark-compact, which V8 starts only when such memory has grown
 * by about 64 MiB since the last one. The batcher's closed-batch records and the produce requests that
 * carry them live a few milliseconds past those collections, waiting for the broker's answer: in the
 * bench's throughput phase they were 51 of the batcher's 112 MiB of ArrayBuffers at its peak (26 MiB
 * of records, 25 MiB of requests), all of it garbage.
 *
 * Only a Buffer that spans an ArrayBuffer of its own is freed (one under 32 KiB from Buffer.allocUnsafe or Buffer.from shares Node's 64 KiB pool
 * slab with others, and is left to the collector). The caller must hold the only use of it: the
 * ArrayBuffer is detached, so it and every view of it read as empty afterwards.
 */
export function releaseBytes(buf: Buffer): boolean {
  const ab = buf.buffer;
  if (!(ab instanceof ArrayBuffer) || ab.detached) return false;
  if (buf.byteOffset !== 0 || buf.byteLength !== ab.byteLength || ab.byteLength === 0) return false;
  ab.transfer(0);
  return true;
}
