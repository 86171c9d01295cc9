/**
 * One input partition's open batches, one per webhook. Pure: time comes in as arguments.
 *
 * A batch closes when it reaches its webhook's max events or the byte cap (at once), or when its own
 * window ends: its webhook's `batch.window_ms` after its first record, capped by the service-wide
 * window (config). The caller produces closed batches and commits; `firstOpenOffset` is what that
 * commit must stay at or below (records of still-open batches are consumed again after a crash), and
 * `onClose` reports each closed batch's last input offset (the watermark the caller commits with it).
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
}

interface OpenBatch {
  settings: BatchSettings;
  parts: string[];
  bytes: number;
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

function renderBody(format: PayloadFormat, parts: string[]): string {
  return format === 'jsonl' ? `${parts.join('\n')}\n` : `[${parts.join(',')}]`;
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

  /** Body bytes held in open batches (what bounds this partition's memory). */
  get bytes(): number {
    return this.bufferedBytes;
  }

  /** Adds one dispatch record; returns the batches that closed because they are full. */
  add(record: DispatchRecord, offset: string, settings: BatchSettings, now: number): BatchRecord[] {
    const closed: BatchRecord[] = [];
    const part = JSON.stringify(record.payload);
    const size = Buffer.byteLength(part) + 1;
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
        eventIds: [],
        firstOffset: offset,
        lastOffset: offset,
        firstEnqueuedAt: now,
        oldestEventAt: record.event_created_at,
      };
      this.open.set(settings.webhookId, batch);
    }
    batch.parts.push(part);
    batch.lastOffset = offset;
    batch.bytes += size;
    this.bufferedBytes += size;
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
  closeDue(now: number): BatchRecord[] {
    return [...this.open.values()].filter((b) => this.dueAt(b) <= now).map((b) => this.close(b, now));
  }

  /** Closes the webhook's open batch, if any (before one of its records leaves otherwise). */
  closeWebhook(webhookId: string, now: number): BatchRecord[] {
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
  drain(now: number): BatchRecord[] {
    return [...this.open.values()].map((b) => this.close(b, now));
  }

  /** Forgets everything (after an abort or revocation): the records will be consumed again. */
  reset(): void {
    this.open.clear();
    this.buffered = 0;
    this.bufferedBytes = 0;
  }

  private dueAt(b: OpenBatch): number {
    return b.firstEnqueuedAt + Math.min(b.settings.windowMs, this.options.windowMs);
  }

  private close(batch: OpenBatch, now: number): BatchRecord {
    this.open.delete(batch.settings.webhookId);
    this.options.onClose?.(batch.settings.webhookId, batch.lastOffset);
    this.buffered -= batch.parts.length;
    this.bufferedBytes -= batch.bytes - 1;
    return {
      batch_id: batchId(this.options.topic, this.options.partition, batch.firstOffset),
      webhook_id: batch.settings.webhookId,
      format: batch.settings.format,
      body: renderBody(batch.settings.format, batch.parts),
      event_ids: batch.eventIds,
      first_enqueued_at: batch.firstEnqueuedAt,
      oldest_event_at: batch.oldestEventAt,
      created_at: now,
    };
  }
}
