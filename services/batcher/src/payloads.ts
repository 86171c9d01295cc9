/**
 * Each webhook's payload from the fan-out's one record per event (EventDispatchRecord): the envelope
 * (`type`, `domain_id`, `created_at`, `webhook_id`, `url`) around the event's shared `data`, byte for byte
 * what the fan-out used to write per webhook. The parts that do not depend on the webhook (the head and
 * `data`'s UTF-8) are built once per record and shared by every webhook's entry; `data`'s are the framed
 * record's own bytes (dispatch-wire.ts), copied into the open batches' pages without being parsed or
 * serialised again (a JSON-form record's `data` is serialised here once).
 */
import {
  type DispatchRecord,
  type DispatchTarget,
  type EventDispatchInput,
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

/**
 * Each webhook's middle (its id and URL) as bytes, made once rather than once per event: the same for
 * every event of the webhook. Keyed by id, checked against the URL (an update may change it); cleared
 * when it reaches MIDDLES_MAX webhooks, so it stays bounded.
 */
const middles = new Map<string, { url: string; bytes: Buffer }>();
const MIDDLES_MAX = 50_000;

function middleOf(target: DispatchTarget): Buffer {
  const known = middles.get(target.id);
  if (known?.url === target.url) return known.bytes;
  if (middles.size >= MIDDLES_MAX) middles.clear();
  const bytes = Buffer.from(payloadMiddle(target));
  middles.set(target.id, { url: target.url, bytes });
  return bytes;
}

/**
 * A webhook's entry: the event's head, the webhook's middle, the event's `data`, the closing brace.
 * `sharedBytes`: the UTF-8 bytes of the head and `data` together, worked out once per event.
 */
export function entryOf(
  eventId: string,
  eventCreatedAt: number,
  head: Buffer | string,
  target: DispatchTarget,
  data: Buffer | string,
  sharedBytes = byteLength(head) + byteLength(data),
): Entry {
  const middle = middleOf(target);
  return {
    eventId,
    eventCreatedAt,
    chunks: [head, middle, data, END],
    bytes: sharedBytes + middle.length + 1,
  };
}

const byteLength = (piece: Buffer | string) =>
  typeof piece === 'string' ? Buffer.byteLength(piece) : piece.length;

/**
 * `input`: a per-event record; the framed form's `dataBytes` are `data` as the fan-out serialised it
 * (checked to be one JSON object), the JSON form's `data` is serialised here once.
 */
export function sharedPieces(input: EventDispatchInput): SharedPieces {
  const r = input.record;
  let head: Buffer | undefined;
  // Its text only for a dead letter's payload.
  let text: string | undefined;
  let utf8 = input.dataBytes;
  const parsed = input.dataBytes === undefined ? input.record.data : undefined;
  const dataUtf8 = () => {
    if (!utf8) {
      text = JSON.stringify(parsed);
      utf8 = Buffer.from(text);
    }
    return utf8;
  };
  const dataText = () => {
    text ??= dataUtf8().toString('utf8');
    return text;
  };
  return {
    entry(target) {
      head ??= Buffer.from(payloadHead(r));
      return entryOf(r.event_id, r.event_created_at, head, target, dataUtf8());
    },
    record(target) {
      return {
        event_id: r.event_id,
        webhook_id: target.id,
        type: r.type,
        event_created_at: r.event_created_at,
        dispatched_at: r.dispatched_at,
        payload: JSON.parse(payloadText(r, target, dataText())) as Record<string, unknown>,
      };
    },
  };
}
