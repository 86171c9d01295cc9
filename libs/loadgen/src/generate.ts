import { randomUUID } from 'node:crypto';
import type { EmailEvent, EventType } from '@hookpost/events';

export interface GeneratorOptions {
  /** Number of distinct domains (ids `dom-0` … `dom-N-1`). */
  domains: number;
  /** Relative weight per event type; types left out never appear. Defaults to a realistic mix. */
  mix?: Partial<Record<EventType, number>>;
  /** Deterministic randomness for tests and benchmarks. */
  seed?: number;
  now?: () => number;
  domainId?: (index: number) => string;
}

/** A plausible traffic mix: mostly sends and deliveries, some engagement, few failures. */
export const DEFAULT_MIX: Partial<Record<EventType, number>> = {
  'activity.sent': 30,
  'activity.delivered': 28,
  'activity.opened': 15,
  'activity.clicked': 8,
  'activity.soft_bounced': 4,
  'activity.hard_bounced': 3,
  'activity.deferred': 3,
  'activity.rejected': 2,
  'activity.unsubscribed': 3,
  'activity.spam_complaint': 2,
  'inbound_forward.failed': 1,
  'sender_identity.verified': 1,
};

/** mulberry32: tiny, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MORPH: Partial<Record<EventType, (r: () => number) => EmailEvent['morph']>> = {
  'activity.hard_bounced': () =>
    m('recipient_bounce', {
      reason: 'The email account that you tried to reach does not exist.',
      smtp_code: 550,
    }),
  'activity.soft_bounced': () =>
    m('recipient_bounce', {
      reason: "452-4.2.2 The recipient's inbox is out of storage space.",
      smtp_code: 452,
    }),
  'activity.deferred': () => m('deferral', { reason: '421 Try again later', smtp_code: 421 }),
  'activity.rejected': () => m('rejection', { reason: 'Recipient is on the suppression list' }),
  'activity.opened': (r) => m('open', { ip: ip(r), user_agent: UA }),
  'activity.clicked': (r) =>
    m('click', { url: `https://example.com/p/${Math.floor(r() * 1000)}`, ip: ip(r), user_agent: UA }),
  'activity.unsubscribed': (r) => m('unsubscribe', { ip: ip(r) }),
  'activity.spam_complaint': () => m('spam_complaint', {}),
};

const UA =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36';

function m(object: string, fields: Partial<NonNullable<EmailEvent['morph']>>): EmailEvent['morph'] {
  return { object, reason: null, smtp_code: null, url: null, ip: null, user_agent: null, ...fields };
}

function ip(r: () => number): string {
  return `203.0.113.${Math.floor(r() * 254) + 1}`;
}

/** Returns a function producing one random, schema-valid email event per call. */
export function eventGenerator(options: GeneratorOptions): () => EmailEvent {
  const random = rng(options.seed ?? 1);
  const now = options.now ?? Date.now;
  const domainId = options.domainId ?? ((i: number) => `dom-${i}`);
  const mix = Object.entries(options.mix ?? DEFAULT_MIX).filter(([, w]) => (w ?? 0) > 0) as [
    EventType,
    number,
  ][];
  if (mix.length === 0) throw new Error('event mix is empty');
  const total = mix.reduce((s, [, w]) => s + w, 0);
  const pickType = (): EventType => {
    let x = random() * total;
    for (const [t, w] of mix) {
      x -= w;
      if (x < 0) return t;
    }
    return mix[mix.length - 1]![0];
  };
  return () => {
    const type = pickType();
    const created = now();
    const d = Math.floor(random() * options.domains);
    const n = Math.floor(random() * 1e9);
    const event: EmailEvent = {
      id: randomUUID(),
      type,
      domain_id: domainId(d),
      account_id: `acct-${d % 50}`,
      created_at: created,
      email: null,
      morph: null,
      inbound_forward: null,
      sender_identity: null,
    };
    if (type.startsWith('activity.')) {
      event.email = {
        id: `em-${n}`,
        created_at: created - 2000,
        from: `news@${domainId(d)}.example`,
        subject: 'Your order has shipped',
        status:
          type === 'activity.hard_bounced' || type === 'activity.rejected'
            ? 'rejected'
            : type.slice('activity.'.length),
        tags: random() < 0.3 ? ['transactional'] : null,
        headers: null,
        message: { id: `msg-${n}`, created_at: created - 3000 },
        recipient: {
          id: `rcpt-${n % 100000}`,
          email: `user${n % 100000}@example.net`,
          created_at: created - 86400000,
        },
        template_id: random() < 0.5 ? `tpl-${n % 20}` : null,
      };
      event.morph = MORPH[type]?.(random) ?? null;
    } else if (type === 'inbound_forward.failed') {
      event.inbound_forward = {
        url: 'https://example.com/webhook-failed',
        response_code: 404,
        inbound_id: `in-${d}`,
        message_id: `inmsg-${n}`,
        sender_email: 'someone@example.org',
        subject: 'Test Email Inbound',
        received_at: created - 1000,
      };
    } else {
      event.sender_identity = {
        id: `si-${n}`,
        email: `info@${domainId(d)}.example`,
        name: 'Sender',
        reply_to_email: null,
        reply_to_name: null,
        is_verified: true,
        domain_name: `${domainId(d)}.example`,
      };
    }
    return event;
  };
}
