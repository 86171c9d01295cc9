/**
 * The batcher's form of a batch record on webhooks.batches, where the request body travels as its own
 * bytes instead of a JSON string inside the record:
 *
 *   4 bytes `00 68 62 31` (NUL "hb1") · the BatchRecord's other fields as one line of JSON · `\n` · the body
 *
 * In the JSON form (`JSON.stringify` of a BatchRecord, which replays, resends and retry records carry)
 * the body is a string: the batcher escaped every payload into it and delivery parsed the escaped text
 * back and encoded it to UTF-8 again before it signed and sent those bytes. Here the body is written
 * once and sent as it is: delivery parses only the small head, and the record is smaller (no escapes).
 * A JSON record starts with `{`, never with NUL, so readers tell the two forms apart by the first bytes
 * and take both (`parseBatchRecord`).
 *
 * A batch parsed from this form keeps its body as bytes: `batchBodyBytes` returns them without a copy,
 * and its `body` is an own enumerable accessor that decodes them on first read, so code that reads the
 * text, spreads the record or serialises it (a retry record, a dead letter) sees the BatchRecord it
 * always saw.
 */
import { hash } from 'node:crypto';
import type { BatchRecord } from './records.ts';
import { hasMagic, splitFrame, writeFrame } from './wire-frame.ts';

/** A batch record's fields but its body. */
export type BatchMeta = Omit<BatchRecord, 'body'>;

const MAGIC = Buffer.from([0x00, 0x68, 0x62, 0x31]);
/** The body's bytes on a batch parsed from the framed form (not enumerable: a spread does not copy it). */
const BODY_BYTES = Symbol('hookpost.batchBodyBytes');

/** Whether `value` is in the framed form (starts with its 4 bytes). */
export function isFramedBatch(value: Buffer): boolean {
  return hasMagic(value, MAGIC);
}

/**
 * The framed record of a batch: its fields but the body as JSON (in the BatchRecord's order), then the
 * body as the concatenation of `body` (one copy of each part into the record).
 */
export function framedBatchRecord(meta: BatchMeta, body: readonly (Buffer | string)[]): Buffer {
  const head =
    `{"batch_id":${JSON.stringify(meta.batch_id)},"webhook_id":${JSON.stringify(meta.webhook_id)},` +
    `"format":${JSON.stringify(meta.format)},"event_ids":${JSON.stringify(meta.event_ids)},` +
    `"first_enqueued_at":${JSON.stringify(meta.first_enqueued_at)},` +
    `"oldest_event_at":${JSON.stringify(meta.oldest_event_at)},"created_at":${JSON.stringify(meta.created_at)}}`;
  return writeFrame(MAGIC, head, body);
}

/** A framed record's head (the JSON of its fields) and body, both views of `value`; null without the newline. */
export function splitFramedBatch(value: Buffer): { head: Buffer; body: Buffer } | null {
  const parts = splitFrame(value, MAGIC);
  return parts && { head: parts.head, body: parts.part };
}

/** The BatchRecord of a validated head and its body's bytes (see the module's comment). */
export function withBodyBytes(meta: BatchMeta, bytes: Buffer): BatchRecord {
  let text: string | undefined;
  Object.defineProperty(meta, BODY_BYTES, { value: bytes, writable: true, enumerable: false });
  Object.defineProperty(meta, 'body', {
    enumerable: true,
    configurable: true,
    get: () => {
      text ??= bytes.toString('utf8');
      return text;
    },
    set(v: string) {
      // Replaced: the bytes no longer say what the body is.
      Object.defineProperty(this, 'body', { value: v, writable: true, enumerable: true, configurable: true });
      (this as { [BODY_BYTES]?: Buffer })[BODY_BYTES] = undefined;
    },
  });
  return meta as BatchRecord;
}

/** The bytes to send for a batch: those it was parsed with (no copy), else its body string's UTF-8. */
export function batchBodyBytes(batch: Pick<BatchRecord, 'body'>): Buffer {
  return (batch as { [BODY_BYTES]?: Buffer })[BODY_BYTES] ?? Buffer.from(batch.body, 'utf8');
}

/**
 * A batch's id from the input record it began with: same input record → same id, so it is stable
 * across a replay after an aborted transaction. The webhook is part of it: one record of an event
 * lists every webhook of that event, so batches of several webhooks can begin at the same offset. The
 * batcher's batches begin at a dispatch record, the fan-out's batches of one event (webhooks at
 * max_events 1) at an event record, so the topic keeps the two apart.
 */
export function batchIdOf(topic: string, partition: number, firstOffset: string, webhookId: string): string {
  // One-shot (no Hash object): once per batch, so once per event at max_events 1.
  return hash(
    'sha256',
    `${topic}\u0000${partition}\u0000${firstOffset}\u0000${webhookId}`,
    'base64url',
  ).slice(0, 22);
}
