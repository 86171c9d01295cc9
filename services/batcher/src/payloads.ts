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
import { type Entry, escapedPiece } from './accumulator.ts';

export interface SharedPieces {
  /** The webhook's entry for the accumulator. */
  entry(target: DispatchTarget): Entry;
  /** The webhook's per-webhook dispatch record (for a dead letter), its payload parsed. */
  record(target: DispatchTarget): DispatchRecord;
}

/** The `}` that closes a payload after its `data`. */
const END = Buffer.from('}');

export function sharedPieces(r: EventDispatchRecord): SharedPieces {
  let head: { text: string; escaped: Buffer; bytes: number } | undefined;
  let data: { text: string; escaped: Buffer; bytes: number } | undefined;
  const dataText = () => {
    if (!data) {
      const text = JSON.stringify(r.data);
      data = { text, escaped: escapedPiece(text), bytes: Buffer.byteLength(text) };
    }
    return data;
  };
  return {
    entry(target) {
      if (!head) {
        const text = payloadHead(r);
        head = { text, escaped: escapedPiece(text), bytes: Buffer.byteLength(text) };
      }
      const d = dataText();
      const middle = payloadMiddle(target);
      return {
        eventId: r.event_id,
        eventCreatedAt: r.event_created_at,
        chunks: [head.escaped, escapedPiece(middle), d.escaped, END],
        bytes: head.bytes + Buffer.byteLength(middle) + d.bytes + 1,
      };
    },
    record(target) {
      return {
        event_id: r.event_id,
        webhook_id: target.id,
        type: r.type,
        event_created_at: r.event_created_at,
        dispatched_at: r.dispatched_at,
        payload: JSON.parse(payloadText(r, target, dataText().text)) as Record<string, unknown>,
      };
    },
  };
}
