/**
 * One input partition's open batches, one per webhook. Pure: time comes in as arguments.
 *
 * A batch closes when it reaches its webhook's max events or the byte cap (at once), or when its own
 * window ends: its webhook's `batch.window_ms` after its first record, capped by the service-wide
 * window (config). The caller produces closed batches and commits; `firstOpenOffset` is what that
 * commit must stay at or below (records of still-open batches are consumed again after a crash), and
 * `onClose` reports each closed batch's last input offset (the watermark the caller commits with it).
 *
 * Open batches are held as bytes: each event's payload as the UTF-8 of its JSON text, so a closing
 * batch's record is its head and those pieces concatenated: the framed form of a batch record
 * (@hookpost/contracts batch-wire.ts), whose body is the request body's bytes as they are, not a JSON
 * string of it to escape here and parse again in delivery.
 */
import {
  type BatchRecord,
  batchIdOf,
  type DispatchRecord,
  framedBatchRecord,
  type PayloadFormat,
} from '@hookpost/contracts';
import { PAGE_SIZE, type Page, pages } from './pages.ts';

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
  /** The record: the framed form of the BatchRecord (its head, then the body's bytes). */
  value: Buffer;
  /** The body's length in bytes (UTF-8), what the byte cap counts. */
  bodyBytes: number;
  /**
   * The highest webhook version its records were produced under (x-webhook-version on replayed
   * dispatch records), carried on to the batch record so delivery waits for it; absent when none had one.
   */
  version?: number;
}

/**
 * One event's payload for one webhook, in chunks: the UTF-8 of its JSON text, or that text itself (an
 * event's shared pieces are one Buffer or one string for all its webhooks).
 */
export interface Entry {
  eventId: string;
  eventCreatedAt: number;
  chunks: (Buffer | string)[];
  /** The payload's JSON text in UTF-8 bytes: what it adds to the body. */
  bytes: number;
}

/** An entry for a per-webhook dispatch record, its payload serialised as `payloadJson`. */
export function recordEntry(record: DispatchRecord, payloadJson = JSON.stringify(record.payload)): Entry {
  return {
    eventId: record.event_id,
    eventCreatedAt: record.event_created_at,
    chunks: [payloadJson],
    bytes: Buffer.byteLength(payloadJson),
  };
}

/**
 * Where a string piece that does not fit the rest of its page is encoded before it is copied across
 * the pages: reused at once, so encoding makes no Buffer that lives on (grown to the largest piece).
 */
let scratch = Buffer.allocUnsafeSlow(PAGE_SIZE);

/**
 * Append-only bytes in pages of the process's pool (pages.ts), given back when the batch closes or is
 * dropped. The pieces are copied in rather than kept: small Buffers share Node's pool slabs (8 KiB then, 64 KiB in Node 24), and a
 * slab stays alive while any piece on it does, so with 1 000 webhooks' batches interleaving their
 * pieces the batcher held 96-161 MiB outside the heap for at most 64 MiB of open batches (issue 15).
 * A batch holds its bytes plus at most one page's free tail.
 */
class PagedBytes {
  private readonly full: Page[] = [];
  private page: Page | undefined;
  private used = 0;
  /** Bytes written (what the memory bound counts; a batch holds at most one page more). */
  length = 0;

  /**
   * Appends `piece`. A string is written into the page as UTF-8 where it fits (else through the
   * scratch buffer): a Buffer made per event for its pieces would be garbage at once, but on Node's
   * pool slabs, promoted with the event's other objects, it waited for a full collection (30 MiB of
   * the batcher's ArrayBuffers at their peak in the bench's throughput phase).
   */
  push(piece: Buffer | string): void {
    if (typeof piece === 'string') {
      if (!this.page || this.used === PAGE_SIZE) this.nextPage();
      // A UTF-16 code unit is at most 3 bytes of UTF-8: with that much room it fits without measuring.
      if (PAGE_SIZE - this.used >= piece.length * 3) {
        const n = this.page!.bytes.write(piece, this.used, 'utf8');
        this.used += n;
        this.length += n;
        return;
      }
      const size = Buffer.byteLength(piece);
      if (PAGE_SIZE - this.used >= size) {
        this.page!.bytes.write(piece, this.used, size, 'utf8');
        this.used += size;
        this.length += size;
        return;
      }
      if (scratch.length < size) scratch = Buffer.allocUnsafeSlow(1 << (32 - Math.clz32(size - 1)));
      scratch.write(piece, 0, size, 'utf8');
      this.copy(scratch.subarray(0, size));
      return;
    }
    this.copy(piece);
  }

  private copy(piece: Buffer): void {
    let from = 0;
    while (from < piece.length) {
      if (!this.page || this.used === PAGE_SIZE) this.nextPage();
      const n = piece.copy(this.page!.bytes, this.used, from);
      this.used += n;
      from += n;
    }
    this.length += piece.length;
  }

  private nextPage(): void {
    if (this.page) this.full.push(this.page);
    this.page = pages.take();
    this.used = 0;
  }

  /** The written bytes, as views of the pages: valid until `release`. */
  pieces(): Buffer[] {
    const out = this.full.map((p) => p.bytes);
    if (this.page) out.push(this.page.bytes.subarray(0, this.used));
    return out;
  }

  /** Gives the pages back to the pool; the views `pieces` returned must not be used after. */
  release(): void {
    if (this.page) this.full.push(this.page);
    pages.give(this.full);
    this.full.length = 0;
    this.page = undefined;
    this.used = 0;
    this.length = 0;
  }
}

interface OpenBatch {
  settings: BatchSettings;
  /** The body's bytes (payloads and the separators between them), as UTF-8. */
  parts: PagedBytes;
  events: number;
  /** Body bytes if it closed now: payloads, separators, brackets. */
  bytes: number;
  eventIds: string[];
  firstOffset: string;
  lastOffset: string;
  firstEnqueuedAt: number;
  oldestEventAt: number;
  version?: number;
}

const COMMA = Buffer.from(',');
const OPEN = Buffer.from('[');
const CLOSE = Buffer.from(']');
/** The line end after each payload of a JSON Lines body. */
const NEWLINE = Buffer.from('\n');

/** The framed batch record around its body's pieces. */
function serialise(meta: Omit<BatchRecord, 'body'>, parts: (Buffer | string)[]): Buffer {
  // The separators are in `parts` already (add): only the brackets of a JSON array are missing.
  return framedBatchRecord(meta, meta.format === 'json' ? [OPEN, ...parts, CLOSE] : parts);
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
    return this.addEntry(recordEntry(record, payloadJson), offset, settings, now);
  }

  /**
   * Adds one event's payload for the webhook of `settings`; returns the batches that closed because they
   * are full. `version`: the webhook version its record carries (x-webhook-version), if any.
   */
  addEntry(
    entry: Entry,
    offset: string,
    settings: BatchSettings,
    now: number,
    version?: number,
  ): ClosedBatch[] {
    let batch = this.open.get(settings.webhookId);
    // A batch of one closes as it opens: its bytes go straight into the record, no pages in between
    // (at max_events 1 this is every event).
    if (!batch && settings.maxEvents <= 1) return [this.single(entry, offset, settings, now, version)];
    const closed: ClosedBatch[] = [];
    const size = entry.bytes + 1;
    if (batch && batch.bytes + size > this.options.maxBytes) {
      closed.push(this.close(batch, now));
      batch = undefined;
    }
    if (!batch) {
      batch = {
        settings,
        parts: new PagedBytes(),
        events: 0,
        bytes: 1,
        eventIds: [],
        firstOffset: offset,
        lastOffset: offset,
        firstEnqueuedAt: now,
        oldestEventAt: entry.eventCreatedAt,
      };
      this.open.set(settings.webhookId, batch);
    }
    const jsonl = batch.settings.format === 'jsonl';
    // Each payload's separator goes in with it: a comma before all but the first (JSON), a newline after each (JSON Lines).
    const before = batch.parts.length;
    if (!jsonl && batch.events > 0) batch.parts.push(COMMA);
    for (const c of entry.chunks) batch.parts.push(c);
    if (jsonl) batch.parts.push(NEWLINE);
    batch.events += 1;
    batch.lastOffset = offset;
    batch.bytes += size;
    this.hold(batch.parts.length - before);
    batch.eventIds.push(entry.eventId);
    batch.oldestEventAt = Math.min(batch.oldestEventAt, entry.eventCreatedAt);
    if (version !== undefined && (batch.version ?? 0) < version) batch.version = version;
    this.buffered += 1;
    if (batch.events >= batch.settings.maxEvents || batch.bytes >= this.options.maxBytes) {
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
    return [...this.closing(now, 'due')];
  }

  /**
   * Closes the batches whose window has ended (`due`) or every open batch (`all`), one per step: a
   * caller that sends as it goes holds one closed value at a time, not a copy of every open batch.
   */
  *closing(now: number, which: 'due' | 'all'): Generator<ClosedBatch> {
    for (const b of [...this.open.values()]) {
      if (which === 'all' || this.dueAt(b) <= now) yield this.close(b, now);
    }
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

  /**
   * Closes the largest open batches first while `over()` holds (the memory bound was passed): the bytes
   * come back with the fewest, fullest batches, and the small ones keep filling.
   */
  *closeLargest(now: number, over: () => boolean): Generator<ClosedBatch> {
    for (const b of [...this.open.values()].sort((x, y) => y.parts.length - x.parts.length)) {
      if (!over()) return;
      yield this.close(b, now);
    }
  }

  /** Closes every open batch. The caller produces them and commits. */
  drain(now: number): ClosedBatch[] {
    return [...this.closing(now, 'all')];
  }

  /** Forgets everything (after an abort or revocation): the records will be consumed again. */
  reset(): void {
    for (const b of this.open.values()) b.parts.release();
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
    this.buffered -= batch.events;
    this.hold(-batch.parts.length);
    // serialise copies the pages' bytes, so they go back to the pool at once.
    const closed = this.closed(batch, batch.eventIds, now, batch.parts.pieces());
    batch.parts.release();
    return closed;
  }

  /** The batch of one entry, closed at once: what add then close would give, without the pages. */
  private single(
    entry: Entry,
    offset: string,
    settings: BatchSettings,
    now: number,
    version?: number,
  ): ClosedBatch {
    this.options.onClose?.(settings.webhookId, offset);
    const jsonl = settings.format === 'jsonl';
    const batch = {
      settings,
      firstOffset: offset,
      firstEnqueuedAt: now,
      oldestEventAt: entry.eventCreatedAt,
      // The payload and its one separator (the closing bracket, or the final newline), as add counts it.
      bytes: entry.bytes + 2,
      version: version !== undefined && version > 0 ? version : undefined,
    };
    return this.closed(batch, [entry.eventId], now, jsonl ? [...entry.chunks, NEWLINE] : entry.chunks);
  }

  private closed(
    batch: Pick<
      OpenBatch,
      'settings' | 'firstOffset' | 'firstEnqueuedAt' | 'oldestEventAt' | 'bytes' | 'version'
    >,
    eventIds: string[],
    now: number,
    pieces: (Buffer | string)[],
  ): ClosedBatch {
    const meta = {
      batch_id: batchIdOf(
        this.options.topic,
        this.options.partition,
        batch.firstOffset,
        batch.settings.webhookId,
      ),
      webhook_id: batch.settings.webhookId,
      format: batch.settings.format,
      event_ids: eventIds,
      first_enqueued_at: batch.firstEnqueuedAt,
      oldest_event_at: batch.oldestEventAt,
      created_at: now,
    };
    const value = serialise(meta, pieces);
    // The body: payloads plus one separator each (the last one is the closing bracket or the final newline).
    const bodyBytes = batch.bytes - (meta.format === 'json' ? 0 : 1);
    return { ...meta, value, bodyBytes, ...(batch.version !== undefined && { version: batch.version }) };
  }
}
