/**
 * One input partition's window of open batches. Pure: time comes in as arguments.
 *
 * Windows are aligned per input partition (the "trap" under Batching in docs/architecture.md): when the partition's window ends,
 * every open batch closes and the partition commits, so the committed offset never has to stay behind
 * an event still buffered for another webhook. The window ends at the earliest of its own length
 * (config) and any open batch's webhook window, so no webhook waits longer than it asked for; other
 * webhooks of the partition may get a batch earlier than their window, never later.
 *
 * A batch that reaches its webhook's max events or the byte cap closes at once and is produced inside
 * the partition's open transaction, so memory holds only the open batches.
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
  /** The partition window's length (config). */
  windowMs: number;
  /** Cap on a batch's body in bytes; a batch that would pass it closes first. */
  maxBytes: number;
}

interface OpenBatch {
  settings: BatchSettings;
  parts: string[];
  bytes: number;
  eventIds: string[];
  firstOffset: string;
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
  private windowStart: number | undefined;
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

  /** Opens the window if none is open (any consumed record, even one that is not batched). */
  touch(now: number): void {
    this.windowStart ??= now;
  }

  /** Adds one dispatch record; returns the batches that closed because they are full. */
  add(record: DispatchRecord, offset: string, settings: BatchSettings, now: number): BatchRecord[] {
    this.touch(now);
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
        firstEnqueuedAt: now,
        oldestEventAt: record.event_created_at,
      };
      this.open.set(settings.webhookId, batch);
    }
    batch.parts.push(part);
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

  /** When the partition's window must end, or undefined when no window is open. */
  deadline(): number | undefined {
    if (this.windowStart === undefined) return undefined;
    let end = this.windowStart + this.options.windowMs;
    for (const b of this.open.values()) end = Math.min(end, b.firstEnqueuedAt + b.settings.windowMs);
    return end;
  }

  /** Ends the window: closes every open batch. The caller produces them and commits. */
  drain(now: number): BatchRecord[] {
    const closed = [...this.open.values()].map((b) => this.close(b, now));
    this.windowStart = undefined;
    return closed;
  }

  /** Forgets everything (after an abort or revocation): the records will be consumed again. */
  reset(): void {
    this.open.clear();
    this.windowStart = undefined;
    this.buffered = 0;
    this.bufferedBytes = 0;
  }

  private close(batch: OpenBatch, now: number): BatchRecord {
    this.open.delete(batch.settings.webhookId);
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
