/**
 * The framing shared by the internal records that carry one large part as its own bytes instead of
 * a JSON string or object inside the record (batch-wire.ts, dispatch-wire.ts):
 *
 *   4 bytes of magic (NUL, then three ASCII letters) · the record's other fields as one line of JSON · `\n` · the part
 *
 * A JSON record starts with `{` (or whitespace), never with NUL, so a reader tells the forms apart by
 * the first bytes and takes both. JSON text never holds a raw newline inside a string (it is escaped),
 * so the first newline after the magic ends the head.
 */

const NEWLINE = 0x0a;

/** Whether `value` starts with `magic`. */
export function hasMagic(value: Buffer, magic: Buffer): boolean {
  if (value.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (value[i] !== magic[i]) return false;
  return true;
}

/** A framed record's head (the JSON of its fields) and part, both views of `value`; null without the newline. */
export function splitFrame(value: Buffer, magic: Buffer): { head: Buffer; part: Buffer } | null {
  const end = value.indexOf(NEWLINE, magic.length);
  if (end === -1) return null;
  return { head: value.subarray(magic.length, end), part: value.subarray(end + 1) };
}

/**
 * From this size a frame is a buffer of its own rather than a slice of Node's shared pool (64 KiB slabs
 * in Node 24, used below 32 KiB): whoever sends it can free its memory once it is sent (@hookpost/kafka
 * releaseBytes) instead of it, and the slab it shares, waiting for a full collection.
 */
const OWN_BUFFER_BYTES = 4096;

/** magic · `head` (its UTF-8) · `\n` · the parts, concatenated: one buffer of the exact size, each part copied once. */
export function writeFrame(magic: Buffer, head: string, parts: readonly (Buffer | string)[]): Buffer {
  const headBytes = Buffer.byteLength(head);
  let size = magic.length + headBytes + 1;
  for (const part of parts) size += typeof part === 'string' ? Buffer.byteLength(part) : part.length;
  const out = size >= OWN_BUFFER_BYTES ? Buffer.allocUnsafeSlow(size) : Buffer.allocUnsafe(size);
  magic.copy(out, 0);
  let at = magic.length + out.write(head, magic.length, headBytes, 'utf8');
  out[at++] = NEWLINE;
  for (const part of parts) at += typeof part === 'string' ? out.write(part, at, 'utf8') : part.copy(out, at);
  return out;
}
