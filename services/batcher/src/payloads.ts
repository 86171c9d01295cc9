/**
 * Each webhook's payload from the fan-out's one record per event (EventDispatchRecord): the envelope
 * (`type`, `domain_id`, `created_at`, `webhook_id`, `url`) around the event's shared `data`, byte for byte
 * what the fan-out used to write per webhook. The parts that do not depend on the webhook (the head and
 * `data`, serialised to UTF-8) are built once per record and shared by every webhook's entry, so an event's `data` is held once per partition however many of its
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
  /** The webhook's entry for the accumulator. */
  entry(target: DispatchTarget): Entry;
  /** The webhook's per-webhook dispatch record (for a dead letter), its payload parsed. */
  record(target: DispatchTarget): DispatchRecord;
}

/** The `}` that closes a payload after its `data`. */
const END = Buffer.from('}');

export function sharedPieces(r: EventDispatchRecord): SharedPieces {
  let head: Buffer | undefined;
  let data: { text: string; utf8: Buffer } | undefined;
  const dataText = () => {
    if (!data) {
      const text = JSON.stringify(r.data);
      data = { text, utf8: Buffer.from(text) };
    }
    return data;
  };
  return {
    entry(target) {
      head ??= Buffer.from(payloadHead(r));
      const d = dataText();
      const middle = Buffer.from(payloadMiddle(target));
      return {
        eventId: r.event_id,
        eventCreatedAt: r.event_created_at,
        chunks: [head, middle, d.utf8, END],
        bytes: head.length + middle.length + d.utf8.length + 1,
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
