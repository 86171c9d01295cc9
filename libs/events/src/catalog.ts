/** The event catalog: every type an MTA may produce and a webhook may subscribe to. */
export const EVENT_TYPES = [
  'activity.sent',
  'activity.delivered',
  'activity.soft_bounced',
  'activity.hard_bounced',
  'activity.deferred',
  'activity.rejected',
  'activity.opened',
  'activity.clicked',
  'activity.unsubscribed',
  'activity.spam_complaint',
  'inbound_forward.failed',
  'sender_identity.verified',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

const KNOWN = new Set<string>(EVENT_TYPES);

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && KNOWN.has(value);
}

/** The Avro value of one email event (schemas/email-event.avsc); times are ms since epoch. */
export interface EmailEvent {
  id: string;
  type: string;
  domain_id: string;
  account_id: string;
  created_at: number;
  email: Email | null;
  morph: Morph | null;
  inbound_forward: InboundForward | null;
  sender_identity: SenderIdentity | null;
}

interface Email {
  id: string;
  created_at: number;
  from: string;
  subject: string;
  status: string;
  tags: string[] | null;
  headers: Record<string, string> | null;
  message: { id: string; created_at: number };
  recipient: { id: string; email: string; created_at: number };
  template_id: string | null;
}

interface Morph {
  object: string;
  reason: string | null;
  smtp_code: number | null;
  url: string | null;
  ip: string | null;
  user_agent: string | null;
}

interface InboundForward {
  url: string;
  response_code: number;
  inbound_id: string;
  message_id: string;
  sender_email: string;
  subject: string;
  received_at: number;
}

interface SenderIdentity {
  id: string;
  email: string;
  name: string;
  reply_to_email: string | null;
  reply_to_name: string | null;
  is_verified: boolean;
  domain_name: string;
}
