/**
 * A dispatch record's text, written around the already-serialised payload (the fan-out serialises an
 * event's shared `data` once, not once per webhook, and each webhook's envelope around it). Pure.
 */
import type { DispatchRecord } from './records.ts';

/**
 * The record's text for a payload already serialised as `payloadJson`: byte for byte
 * `JSON.stringify({ ...r, payload: JSON.parse(payloadJson) })` when `payloadJson` is JSON.stringify's
 * (fields in the order of the DispatchRecord type).
 */
export function dispatchText(r: Omit<DispatchRecord, 'payload'>, payloadJson: string): string {
  return (
    `{"event_id":${JSON.stringify(r.event_id)},"webhook_id":${JSON.stringify(r.webhook_id)},` +
    `"type":${JSON.stringify(r.type)},"event_created_at":${JSON.stringify(r.event_created_at)},` +
    `"dispatched_at":${JSON.stringify(r.dispatched_at)},"payload":${payloadJson}}`
  );
}
