/**
 * A dispatch record's text, written around the already-serialised payload (the fan-out serialises an
 * event's shared `data` once, not once per webhook, and each webhook's envelope around it). Pure.
 */
import type { DispatchTarget, EventDispatchRecord } from './records.ts';

/** An event dispatch record's fields but `data`, in the type's order, without the braces. */
function eventDispatchFields(r: Omit<EventDispatchRecord, 'data'>): string {
  let webhooks = '';
  for (const w of r.webhooks)
    webhooks += `${webhooks === '' ? '' : ','}{"id":${JSON.stringify(w.id)},"url":${JSON.stringify(w.url)}}`;
  return (
    `"event_id":${JSON.stringify(r.event_id)},"type":${JSON.stringify(r.type)},` +
    `"domain_id":${JSON.stringify(r.domain_id)},"created_at":${JSON.stringify(r.created_at)},` +
    `"event_created_at":${JSON.stringify(r.event_created_at)},"dispatched_at":${JSON.stringify(r.dispatched_at)},` +
    `"webhooks":[${webhooks}]`
  );
}

/**
 * The fan-out's per-event record text around `data` already serialised as `dataJson`: byte for byte
 * `JSON.stringify({ ...r, data: JSON.parse(dataJson) })` (fields in the order of the type).
 */
export function eventDispatchText(r: Omit<EventDispatchRecord, 'data'>, dataJson: string): string {
  return `{${eventDispatchFields(r)},"data":${dataJson}}`;
}

/** The same record's fields but `data`: byte for byte `JSON.stringify(r)` of a record without it. */
export function eventDispatchHeadText(r: Omit<EventDispatchRecord, 'data'>): string {
  return `{${eventDispatchFields(r)}}`;
}

/** The fields of an event the payload's envelope carries. */
export type EnvelopeFields = Pick<EventDispatchRecord, 'type' | 'domain_id' | 'created_at'>;

/**
 * What comes before the webhook's id in its payload: `{"type":…,"domain_id":…,"created_at":…,"webhook_id":`.
 * The same for every webhook of an event; `payloadText` is it + `payloadMiddle` + `dataJson` + `}`.
 */
export function payloadHead(e: EnvelopeFields): string {
  return (
    `{"type":${JSON.stringify(e.type)},"domain_id":${JSON.stringify(e.domain_id)},` +
    `"created_at":${JSON.stringify(e.created_at)},"webhook_id":`
  );
}

/** The webhook's part of its payload: its id and URL, up to where `data`'s text begins. */
export function payloadMiddle(w: DispatchTarget): string {
  return `${JSON.stringify(w.id)},"url":${JSON.stringify(w.url)},"data":`;
}

/**
 * One webhook's payload text (MailerSend's shape: `type`, `domain_id`, `created_at`, `webhook_id`,
 * `url`, `data`) around `data` already serialised: byte for byte JSON.stringify of that object.
 */
export function payloadText(e: EnvelopeFields, w: DispatchTarget, dataJson: string): string {
  return `${payloadHead(e)}${payloadMiddle(w)}${dataJson}}`;
}
