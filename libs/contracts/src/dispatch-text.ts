/**
 * A dispatch record's text, written from the already-serialised payload (the fan-out serialises an
 * event's shared `data` once, not once per webhook), and the payload cut out of that text again (the
 * batcher puts those bytes in the body instead of serialising the parsed payload again). Pure.
 *
 * The fan-out writes `{"event_id":…,"webhook_id":…,"type":…,"event_created_at":…,"dispatched_at":…,
 * "payload":{…}}` (JSON.stringify's order and form). For text that has already parsed and passed the
 * dispatch schema, the cut is taken only when the text is exactly that: the prefix rebuilt from the
 * parsed fields matches, and the payload object ends right before the record's closing brace. Anything
 * else (other key order, whitespace, extra or repeated members) answers undefined and the caller
 * serialises the parsed payload: same body, slower. So what is cut is always the one complete JSON
 * value the parsed `payload` came from.
 */
import type { DispatchRecord } from './records.ts';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const OPEN_ARRAY = 0x5b;
const CLOSE_OBJECT = 0x7d;
const CLOSE_ARRAY = 0x5d;

/** The prefix JSON.stringify writes before the payload object for these fields. */
function dispatchPrefix(r: Omit<DispatchRecord, 'payload'>): string {
  return (
    `{"event_id":${JSON.stringify(r.event_id)},"webhook_id":${JSON.stringify(r.webhook_id)},` +
    `"type":${JSON.stringify(r.type)},"event_created_at":${JSON.stringify(r.event_created_at)},` +
    `"dispatched_at":${JSON.stringify(r.dispatched_at)},"payload":`
  );
}

/**
 * The record's text for a payload already serialised as `payloadJson`: byte for byte
 * `JSON.stringify({ ...r, payload: JSON.parse(payloadJson) })` when `payloadJson` is JSON.stringify's.
 */
export function dispatchText(r: Omit<DispatchRecord, 'payload'>, payloadJson: string): string {
  return `${dispatchPrefix(r)}${payloadJson}}`;
}

/** The payload's JSON text inside `text` (a valid dispatch record that parsed into `r`), or undefined. */
export function dispatchPayloadText(text: string, r: DispatchRecord): string | undefined {
  const prefix = dispatchPrefix(r);
  if (!text.startsWith(prefix)) return undefined;
  const end = valueEnd(text, prefix.length);
  // Exactly one closing brace after the payload: no further members, no whitespace.
  if (end !== text.length - 1 || text.charCodeAt(end) !== CLOSE_OBJECT) return undefined;
  return text.slice(prefix.length, end);
}

/**
 * Where the object or array starting at `from` ends (exclusive), in text known to be valid JSON; -1 if
 * `from` is not the start of one. Strings are skipped with indexOf (their quotes are the only place a
 * bracket may appear without counting).
 */
export function valueEnd(text: string, from: number): number {
  const first = text.charCodeAt(from);
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) return -1;
  let depth = 0;
  for (let i = from; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i = stringEnd(text, i);
      if (i < 0) return -1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth += 1;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

/** The index of the quote closing the string whose opening quote is at `open`, or -1. */
function stringEnd(text: string, open: number): number {
  let at = open;
  for (;;) {
    at = text.indexOf('"', at + 1);
    if (at < 0) return -1;
    let slashes = 0;
    while (text.charCodeAt(at - 1 - slashes) === BACKSLASH) slashes += 1;
    if (slashes % 2 === 0) return at;
  }
}
