/**
 * Sample payloads for test sends: one realistic event of the chosen type, shaped as MailerSend shows
 * them (type, domain_id, created_at, webhook_id, url, data), rendered as the webhook's format would be.
 */
import { randomBytes } from 'node:crypto';
import type { Webhook } from '@hookpost/contracts';
import type { EventType } from '@hookpost/events';

const id = () => randomBytes(12).toString('hex');

const MORPH: Record<string, Record<string, unknown> | null> = {
  hard_bounced: {
    object: 'recipient_bounce',
    reason: 'The email account that you tried to reach does not exist.',
  },
  soft_bounced: {
    object: 'recipient_bounce',
    reason: "452-4.2.2 The recipient's inbox is out of storage space.",
  },
  deferred: { object: 'deferral', reason: '421 Try again later' },
  rejected: { object: 'rejection', reason: 'Recipient is on the suppression list' },
  opened: { object: 'open', ip: '203.0.113.7', user_agent: 'Mozilla/5.0' },
  clicked: {
    object: 'click',
    url: 'https://example.com/welcome',
    ip: '203.0.113.7',
    user_agent: 'Mozilla/5.0',
  },
  unsubscribed: { object: 'unsubscribe', ip: '203.0.113.7' },
  spam_complaint: { object: 'spam_complaint' },
};

function data(type: EventType, webhook: Webhook, at: string): Record<string, unknown> {
  if (type === 'inbound_forward.failed')
    return {
      url: 'https://example.com/webhook-failed',
      response_code: 404,
      inbound_message: {
        object: 'inbound_message',
        id: id(),
        sender: { email: 'test@example.com' },
        subject: 'Test Email Inbound',
        created_at: at,
      },
      inbound: { object: 'inbound', id: id(), domain_id: webhook.domain_id },
    };
  if (type === 'sender_identity.verified')
    return {
      object: 'sender_identity',
      id: id(),
      email: 'info@example.com',
      name: 'Test Name',
      reply_to_email: null,
      reply_to_name: null,
      is_verified: true,
      domain: {
        object: 'domain',
        id: webhook.domain_id,
        name: 'example.com',
        created_at: at,
        updated_at: at,
      },
    };
  const short = type.slice('activity.'.length);
  return {
    object: 'activity',
    id: id(),
    type: short,
    created_at: at,
    email: {
      object: 'email',
      id: id(),
      created_at: at,
      from: 'test@example.com',
      subject: 'Test email',
      status: short === 'hard_bounced' || short === 'rejected' ? 'rejected' : short,
      tags: null,
      headers: null,
      message: { object: 'message', id: id(), created_at: at },
      recipient: { object: 'recipient', id: id(), email: 'recipient@example.com', created_at: at },
    },
    template_id: null,
    morph: MORPH[short] ?? null,
  };
}

export function samplePayload(type: EventType, webhook: Webhook, now: number): Record<string, unknown> {
  const at = new Date(now).toISOString();
  return {
    type,
    domain_id: webhook.domain_id,
    created_at: at,
    webhook_id: webhook.id,
    url: webhook.url,
    data: data(type, webhook, at),
  };
}

/** The request body as delivery would send it: a JSON array, or one JSON object per line. */
export function renderBody(format: Webhook['format'], payloads: Record<string, unknown>[]): string {
  return format === 'jsonl' ? payloads.map((p) => JSON.stringify(p)).join('\n') : JSON.stringify(payloads);
}
