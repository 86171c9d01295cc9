/**
 * The fan-out's form of its per-event record on webhooks.dispatch, where the event's `data` travels as
 * its own bytes instead of an object inside the record's JSON (wire-frame.ts):
 *
 *   4 bytes `00 68 64 31` (NUL "hd1") · the EventDispatchRecord's other fields as one line of JSON · `\n` · `data`'s JSON
 *
 * In the JSON form (`eventDispatchText`) the batcher parsed the whole record, `data` included, and
 * serialised `data` again to put it into each webhook's payload: the payload was parsed and
 * re-stringified between the fan-out and the POST (issue 15, point 2). Here the batcher parses only the
 * head and checks the data bytes (UTF-8, one JSON object, by a scanner that builds nothing:
 * json-check.ts), then copies them into the payloads as they are: `data` is serialised once, by the
 * fan-out, and parsed by no one on the way.
 *
 * `parseDispatchInput` gives a record read from this form as its head (every field but `data`) and,
 * beside it, `dataBytes`: a view of the record's bytes, no copy. Beside, not on the record: an accessor
 * or a symbol defined on each parsed record cost more than the serialisation it saved (6.5 against
 * 4.8 µs per record parsed and rendered).
 */
import { eventDispatchHeadText } from './dispatch-text.ts';
import type { EventDispatchRecord } from './records.ts';
import { hasMagic, splitFrame, writeFrame } from './wire-frame.ts';

/** An event dispatch record's fields but its `data`. */
export type EventDispatchHead = Omit<EventDispatchRecord, 'data'>;

const MAGIC = Buffer.from([0x00, 0x68, 0x64, 0x31]);

/** Whether `value` is in the framed form (starts with its 4 bytes). */
export function isFramedDispatch(value: Buffer): boolean {
  return hasMagic(value, MAGIC);
}

/** The framed record of an event: its head, then `dataJson` (JSON.stringify of its `data`) as UTF-8. */
export function framedDispatchRecord(head: EventDispatchHead, dataJson: string): Buffer {
  return writeFrame(MAGIC, eventDispatchHeadText(head), [dataJson]);
}

/** A framed record's head (the JSON of its fields) and data, both views of `value`; null without the newline. */
export function splitFramedDispatch(value: Buffer): { head: Buffer; data: Buffer } | null {
  const parts = splitFrame(value, MAGIC);
  return parts && { head: parts.head, data: parts.part };
}
