/**
 * Each webhook's payload from the fan-out's one record per event (EventDispatchRecord): the envelope
 * (`type`, `domain_id`, `created_at`, `webhook_id`, `url`) around the event's shared `data`, byte for byte
 * what the fan-out used to write per webhook. The parts that do not depend on the webhook (the head and
 * `data`, serialised and escaped for the batch record's body string) are built once per record and
 * shared by every webhook's entry, so an event's `data` is held once per partition however many of its
 * webhooks have it in an open batch.
 */
import {
  type DispatchRecord,
  type DispatchTarget,
  type EventDispatchRecord,
  payloadHead,
  payloadMiddle,
  payloadText,
} from '@hookpost/contracts';
import type { Entry } from './accumulator.ts';

export interface SharedPieces {
  /** The webhook's entry for the accumulator (`target` is one of the record's webhooks). */
  entry(target: DispatchTarget): Entry;
  /** The webhook's per-webhook dispatch record (for a dead letter), its payload parsed. */
  record(target: DispatchTarget): DispatchRecord;
}

/** `text` as the inside of a JSON string (what JSON.stringify puts between the quotes). */
const escaped = (text: string) => JSON.stringify(text).slice(1, -1);

/**
 * The record's escaped pieces (the head, each webhook's middle, the data and the closing brace) in ONE
 * Buffer of its own, outside Node's 8 KiB allocation pool: a pooled slice keeps its whole slab alive, so
 * pieces of records whose batches close at different times kept up to ~2× their bytes (measured as
 * external memory against the held bytes); a record's own Buffer lives exactly as long as its last batch.
 */
export function sharedPieces(r: EventDispatchRecord): SharedPieces {
  const dataJson = JSON.stringify(r.data);
  const head = payloadHead(r);
  const middles = r.webhooks.map((w) => payloadMiddle(w));
  const texts = [escaped(head), escaped(dataJson), '}', ...middles.map(escaped)];
  let total = 0;
  for (const t of texts) total += Buffer.byteLength(t);
  const arena = Buffer.allocUnsafeSlow(total);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const t of texts) {
    const n = arena.write(t, at);
    pieces.push(arena.subarray(at, at + n));
    at += n;
  }
  const [headPiece, dataPiece, endPiece] = pieces as [Buffer, Buffer, Buffer];
  const unescaped = Buffer.byteLength(head) + Buffer.byteLength(dataJson) + 1;
  return {
    entry(target) {
      const k = r.webhooks.indexOf(target);
      return {
        eventId: r.event_id,
        eventCreatedAt: r.event_created_at,
        chunks: [headPiece, pieces[3 + k]!, dataPiece, endPiece],
        bytes: unescaped + Buffer.byteLength(middles[k]!),
      };
    },
    record(target) {
      return {
        event_id: r.event_id,
        webhook_id: target.id,
        type: r.type,
        event_created_at: r.event_created_at,
        dispatched_at: r.dispatched_at,
        payload: JSON.parse(payloadText(r, target, dataJson)) as Record<string, unknown>,
      };
    },
  };
}
