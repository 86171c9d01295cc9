/**
 * Renders an email event into the webhook payload MailerSend documents (seeds/000, 001): the envelope
 * `type`, `domain_id`, `created_at`, `webhook_id`, `url`, and `data` with the fat object. The `data`
 * part is the same for every webhook of an event, so it is rendered once per event and the envelope
 * once per webhook. Pure; times are ISO-8601 with microseconds as MailerSend writes them.
 *
 * Every item carries the event's id so receivers can drop duplicates (delivery is at least once):
 * activities as `data.id` (MailerSend's activity id), the other types as `data.event_id`, because their
 * MailerSend shape has no event id (`data.id` of a sender identity is the identity's id, shared by every
 * event about it). docs/receiving.md documents the rule; docs/payloads/ holds one rendered example per type.
 */
import type { Webhook } from '@hookpost/contracts';
import type { EmailEvent } from '@hookpost/events';

export type Rendered = { ok: true; data: Record<string, unknown> } | { ok: false; error: string };

const DAY_MS = 86_400_000;
/** `YYYY-MM-DDT` per day number; bounded (an event's times span a few days at most). */
const dayPrefixes = new Map<number, string>();
const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `2020-11-27T10:08:08.298000Z`: millisecond precision in MailerSend's microsecond format. Called
 * five times per event on the fan-out's hot path, where `toISOString().replace(regex)` was ~10 % of
 * its CPU (bench/README.md): the date part comes from toISOString once per day, the time part from
 * arithmetic. Same output as `new Date(ms).toISOString()` with `000` before the `Z`.
 */
export function isoMicros(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) {
    if (dayPrefixes.size >= 64) dayPrefixes.clear();
    prefix = new Date(day * DAY_MS).toISOString().slice(0, -13);
    dayPrefixes.set(day, prefix);
  }
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  return `${prefix}${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(rest - s * 1000)}000Z`;
}

/** The `data` object for the event's type; an event missing the part its type needs is not renderable. */
export function renderData(event: EmailEvent): Rendered {
  if (event.type.startsWith('activity.')) {
    const e = event.email;
    if (!e) return { ok: false, error: `${event.type} event ${event.id} has no email` };
    return {
      ok: true,
      data: {
        object: 'activity',
        id: event.id,
        type: event.type.slice('activity.'.length),
        created_at: isoMicros(event.created_at),
        email: {
          object: 'email',
          id: e.id,
          created_at: isoMicros(e.created_at),
          from: e.from,
          subject: e.subject,
          status: e.status,
          tags: e.tags,
          headers: e.headers,
          message: { object: 'message', id: e.message.id, created_at: isoMicros(e.message.created_at) },
          recipient: {
            object: 'recipient',
            id: e.recipient.id,
            email: e.recipient.email,
            created_at: isoMicros(e.recipient.created_at),
          },
        },
        template_id: e.template_id,
        morph: renderMorph(event.morph),
      },
    };
  }
  if (event.type === 'inbound_forward.failed') {
    const f = event.inbound_forward;
    if (!f) return { ok: false, error: `inbound_forward.failed event ${event.id} has no inbound_forward` };
    return {
      ok: true,
      data: {
        event_id: event.id,
        url: f.url,
        response_code: f.response_code,
        inbound_message: {
          object: 'inbound_message',
          id: f.message_id,
          sender: { email: f.sender_email },
          subject: f.subject,
          created_at: isoMicros(f.received_at),
        },
        inbound: { object: 'inbound', id: f.inbound_id, domain_id: event.domain_id },
      },
    };
  }
  if (event.type === 'sender_identity.verified') {
    const s = event.sender_identity;
    if (!s) return { ok: false, error: `sender_identity.verified event ${event.id} has no sender_identity` };
    return {
      ok: true,
      data: {
        event_id: event.id,
        object: 'sender_identity',
        id: s.id,
        email: s.email,
        name: s.name,
        reply_to_email: s.reply_to_email,
        reply_to_name: s.reply_to_name,
        is_verified: s.is_verified,
        domain: { object: 'domain', id: event.domain_id, name: s.domain_name },
      },
    };
  }
  return { ok: false, error: `event ${event.id} has unknown type ${event.type}` };
}

/** The MailerSend morph: its `object` plus whichever details the event carries (no null noise). */
function renderMorph(morph: EmailEvent['morph']): Record<string, unknown> | null {
  if (!morph) return null;
  const out: Record<string, unknown> = { object: morph.object };
  for (const key of ['reason', 'smtp_code', 'url', 'ip', 'user_agent'] as const) {
    if (morph[key] !== null && morph[key] !== undefined) out[key] = morph[key];
  }
  return out;
}

/** The per-webhook envelope around the shared `data`. */
export function envelope(
  event: Pick<EmailEvent, 'type' | 'domain_id' | 'created_at'>,
  webhook: Pick<Webhook, 'id' | 'url'>,
  data: Record<string, unknown>,
): Record<string, unknown> {
  return {
    type: event.type,
    domain_id: event.domain_id,
    created_at: isoMicros(event.created_at),
    webhook_id: webhook.id,
    url: webhook.url,
    data,
  };
}
