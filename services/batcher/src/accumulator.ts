/**
 * One input partition's open batches, one per webhook. Pure: time comes in as arguments.
 *
 * A batch closes when it reaches its webhook's max events or the byte cap (at once), or when its own
 * window ends: its webhook's `batch.window_ms` after its first record, capped by the service-wide
 * window (config). The caller produces closed batches and commits; `firstOpenOffset` is what that
 * commit must stay at or below (records of still-open batches are consumed again after a crash), and
 * `onClose` reports each closed batch's last input offset (the watermark the caller commits with it).
 *
 * Open batches are held as bytes: each event's payload as the UTF-8 of its JSON text already escaped
 * for the batch record's `body` string, so a closing batch's record is those pieces concatenated
 * between its other fields (byte for byte `JSON.stringify` of the BatchRecord, without building the
 * body string or escaping it whole). Escaping each piece and concatenating equals escaping the
 * concatenation: JSON escapes character by character and the separators are ASCII.
 */
import { createHash } from 'node:crypto';
import type { BatchRecord, DispatchRecord, PayloadFormat } from '@hookpost/contracts';

export interface BatchSettings {
  webhookId: string;
  format: PayloadFormat;
  maxEvents: number;
  windowMs: number;
}

export interface AccumulatorOptions {
  topic: string;
  partition: number;
  /** Longest any batch stays open (config): caps every webhook's own window. */
  windowMs: number;
  /** Cap on a batch's body in bytes; a batch that would pass it closes first. */
  maxBytes: number;
  /** Called for every batch that closes, with the input offset of its last record. */
  onClose?: (webhookId: string, lastOffset: string) => void;
  /** Shared by the accumulators of one process: the bytes all their open batches hold. */
  held?: Held;
}

/** Bytes held in open batches, across the partitions that share it. */
export interface Held {
  bytes: number;
}

/** A closed batch: the BatchRecord's fields but its body, and the record serialised. */
export interface ClosedBatch extends Omit<BatchRecord, 'body'> {
  /** `JSON.stringify` of the whole BatchRecord, body included, as UTF-8. */
  value: Buffer;
  /** The body's length in bytes (UTF-8), what the byte cap counts. */
  bodyBytes: number;
}

interface OpenBatch {
  settings: BatchSettings;
  /** Each payload's JSON text escaped for a JSON string, as UTF-8. */
  parts: Buffer[];
  /** Body bytes if it closed now: payloads, separators, brackets. */
  bytes: number;
  /** Bytes of `parts`. */
  held: number;
  eventIds: string[];
  firstOffset: string;
  lastOffset: string;
  firstEnqueuedAt: number;
  oldestEventAt: number;
}

/** Same input records → same id: stable across a replay after an aborted transaction. */
function batchId(topic: string, partition: number, firstOffset: string): string {
  return createHash('sha256')
    .update(`${topic}\u0000${partition}\u0000${firstOffset}`)
    .digest('base64url')
    .slice(0, 22);
}

const COMMA = Buffer.from(',');
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');
/** A newline inside the body string of the record: escaped. */
const NEWLINE = Buffer.from('\\n');

/** The payload's JSON text escaped as the inside of a JSON string (what JSON.stringify puts between the quotes). */
function escapedPiece(payloadJson: string): Buffer {
  return Buffer.from(JSON.stringify(payloadJson)).subarray(1, -1);
}

/** The BatchRecord serialised around its body's pieces, fields in the order of the BatchRecord type. */
function serialise(meta: Omit<BatchRecord, 'body'>, parts: Buffer[]): Buffer {
  const head = Buffer.from(
    `{"batch_id":${JSON.stringify(meta.batch_id)},"webhook_id":${JSON.stringify(meta.webhook_id)},` +
      `"format":${JSON.stringify(meta.format)},"body":"`,
  );
  const tail = Buffer.from(
    `","event_ids":${JSON.stringify(meta.event_ids)},"first_enqueued_at":${JSON.stringify(meta.first_enqueued_at)},` +
      `"oldest_event_at":${JSON.stringify(meta.oldest_event_at)},"created_at":${JSON.stringify(meta.created_at)}}`,
  );
  const pieces: Buffer[] = [head];
  if (meta.format === 'jsonl') {
    for (const p of parts) pieces.push(p, NEWLINE);
  } else {
    pieces.push(OPEN);
    for (let i = 0; i < parts.length; i += 1) {
      if (i > 0) pieces.push(COMMA);
      pieces.push(parts[i]!);
    }
    pieces.push(CLOSE);
  }
  pieces.push(tail);
  return Buffer.concat(pieces);
}

export class WindowAccumulator {
  private readonly options: AccumulatorOptions;
  private readonly open = new Map<string, OpenBatch>();
  private buffered = 0;
  private bufferedBytes = 0;

  constructor(options: AccumulatorOptions) {
    this.options = options;
  }

  get openBatches(): number {
    return this.open.size;
  }

  get bufferedEvents(): number {
    return this.buffered;
  }

  /** Bytes held in this partition's open batches. */
  get bytes(): number {
    return this.bufferedBytes;
  }

  /**
   * Adds one dispatch record, whose payload is already serialised as `payloadJson` (by default it is
   * serialised here); returns the batches that closed because they are full.
   */
  add(
    record: DispatchRecord,
    offset: string,
    settings: BatchSettings,
    now: number,
    payloadJson: string = JSON.stringify(record.payload),
  ): ClosedBatch[] {
    const closed: ClosedBatch[] = [];
    const size = Buffer.byteLength(payloadJson) + 1;
    let batch = this.open.get(settings.webhookId);
    if (batch && batch.bytes + size > this.options.maxBytes) {
      closed.push(this.close(batch, now));
      batch = undefined;
    }
    if (!batch) {
      batch = {
        settings,
        parts: [],
        bytes: 1,
        held: 0,
        eventIds: [],
        firstOffset: offset,
        lastOffset: offset,
        firstEnqueuedAt: now,
        oldestEventAt: record.event_created_at,
      };
      this.open.set(settings.webhookId, batch);
    }
    const part = escapedPiece(payloadJson);
    batch.parts.push(part);
    batch.lastOffset = offset;
    batch.bytes += size;
    batch.held += part.length;
    this.hold(part.length);
    batch.eventIds.push(record.event_id);
    batch.oldestEventAt = Math.min(batch.oldestEventAt, record.event_created_at);
    this.buffered += 1;
    if (batch.parts.length >= batch.settings.maxEvents || batch.bytes >= this.options.maxBytes) {
      closed.push(this.close(batch, now));
    }
    return closed;
  }

  /** When the next open batch's window ends, or undefined when none is open. */
  deadline(): number | undefined {
    let end: number | undefined;
    for (const b of this.open.values()) {
      const at = this.dueAt(b);
      if (end === undefined || at < end) end = at;
    }
    return end;
  }

  /** Closes the batches whose window has ended by `now`. */
  closeDue(now: number): ClosedBatch[] {
    return [...this.open.values()].filter((b) => this.dueAt(b) <= now).map((b) => this.close(b, now));
  }

  /** Closes the webhook's open batch, if any (before one of its records leaves otherwise). */
  closeWebhook(webhookId: string, now: number): ClosedBatch[] {
    const b = this.open.get(webhookId);
    return b ? [this.close(b, now)] : [];
  }

  /** The lowest input offset of an open batch's first record: what a commit must not pass. */
  firstOpenOffset(): bigint | undefined {
    let low: bigint | undefined;
    for (const b of this.open.values()) {
      const o = BigInt(b.firstOffset);
      if (low === undefined || o < low) low = o;
    }
    return low;
  }

  /** Closes every open batch (memory bound reached). The caller produces them and commits. */
  drain(now: number): ClosedBatch[] {
    return [...this.open.values()].map((b) => this.close(b, now));
  }

  /** Forgets everything (after an abort or revocation): the records will be consumed again. */
  reset(): void {
    this.open.clear();
    this.buffered = 0;
    this.hold(-this.bufferedBytes);
  }

  private hold(bytes: number): void {
    this.bufferedBytes += bytes;
    if (this.options.held) this.options.held.bytes += bytes;
  }

  private dueAt(b: OpenBatch): number {
    return b.firstEnqueuedAt + Math.min(b.settings.windowMs, this.options.windowMs);
  }

  private close(batch: OpenBatch, now: number): ClosedBatch {
    this.open.delete(batch.settings.webhookId);
    this.options.onClose?.(batch.settings.webhookId, batch.lastOffset);
    this.buffered -= batch.parts.length;
    this.hold(-batch.held);
    const meta = {
      batch_id: batchId(this.options.topic, this.options.partition, batch.firstOffset),
      webhook_id: batch.settings.webhookId,
      format: batch.settings.format,
      event_ids: batch.eventIds,
      first_enqueued_at: batch.firstEnqueuedAt,
      oldest_event_at: batch.oldestEventAt,
      created_at: now,
    };
    // The body: payloads plus one separator each (the last one is the closing bracket or the final newline).
    return {
      ...meta,
      value: serialise(meta, batch.parts),
      bodyBytes: batch.bytes - (meta.format === 'json' ? 0 : 1),
    };
  }
}
