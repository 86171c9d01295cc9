import { type EmailEvent, EVENT_TYPES } from '@hookpost/events';
import { eventGenerator } from '@hookpost/loadgen';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelope, isoMicros, renderData } from './render.ts';

const T = Date.UTC(2024, 0, 19, 12, 57, 33, 255);

function bounce(): EmailEvent {
  return {
    id: '5fc0d1a3b42c3e16e1774883',
    type: 'activity.hard_bounced',
    domain_id: 'yv69oxl5kl785kw2',
    account_id: 'a',
    created_at: T,
    email: {
      id: '5fc0d1a1671b12016277884a',
      created_at: T,
      from: 'test@mailersend.com',
      subject: 'Hello from MailerSend',
      status: 'rejected',
      tags: null,
      headers: null,
      message: { id: '5fc0d1a1f718c90162341c3a', created_at: T - 10_255 },
      recipient: { id: '5f6887d6fd913a6523283fd2', email: 'test@domain.com', created_at: T - 10_255 },
      template_id: '7nxe3yjmeq28vp0k',
    },
    morph: {
      object: 'recipient_bounce',
      reason: 'does not exist',
      smtp_code: null,
      url: null,
      ip: null,
      user_agent: null,
    },
    inbound_forward: null,
    sender_identity: null,
  };
}

describe('render', () => {
  it('writes times as MailerSend does, with six fractional digits', () => {
    expect(isoMicros(T)).toBe('2024-01-19T12:57:33.255000Z');
  });

  it('formats every time exactly as toISOString with microseconds (before 1970 and after 9999 too)', () => {
    const reference = (ms: number) => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
    fc.assert(
      fc.property(fc.integer({ min: -8.64e15, max: 8.64e15 }), (ms) => isoMicros(ms) === reference(ms)),
      { numRuns: 20_000 },
    );
    for (const ms of [0, -1, -86_400_001, 253_402_300_799_999, 253_402_300_800_000])
      expect(isoMicros(ms)).toBe(reference(ms));
  });

  it("renders an activity event in the shape of MailerSend's activity.hard_bounced example", () => {
    const r = renderData(bounce());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const payload = envelope(
      bounce(),
      { id: '2351ndgwr4zqx8ko', url: 'https://your-domain.com/webhook' },
      r.data,
    );
    expect(payload).toEqual({
      type: 'activity.hard_bounced',
      domain_id: 'yv69oxl5kl785kw2',
      created_at: '2024-01-19T12:57:33.255000Z',
      webhook_id: '2351ndgwr4zqx8ko',
      url: 'https://your-domain.com/webhook',
      data: {
        object: 'activity',
        id: '5fc0d1a3b42c3e16e1774883',
        type: 'hard_bounced',
        created_at: '2024-01-19T12:57:33.255000Z',
        email: {
          object: 'email',
          id: '5fc0d1a1671b12016277884a',
          created_at: '2024-01-19T12:57:33.255000Z',
          from: 'test@mailersend.com',
          subject: 'Hello from MailerSend',
          status: 'rejected',
          tags: null,
          headers: null,
          message: {
            object: 'message',
            id: '5fc0d1a1f718c90162341c3a',
            created_at: '2024-01-19T12:57:23.000000Z',
          },
          recipient: {
            object: 'recipient',
            id: '5f6887d6fd913a6523283fd2',
            email: 'test@domain.com',
            created_at: '2024-01-19T12:57:23.000000Z',
          },
        },
        template_id: '7nxe3yjmeq28vp0k',
        morph: { object: 'recipient_bounce', reason: 'does not exist' },
      },
    });
  });

  it('renders inbound_forward.failed and sender_identity.verified like the seeds', () => {
    const gen = eventGenerator({ domains: 1, seed: 3, mix: { 'inbound_forward.failed': 1 } });
    const inbound = renderData(gen());
    expect(inbound.ok && Object.keys(inbound.data).sort()).toEqual([
      'event_id',
      'inbound',
      'inbound_message',
      'response_code',
      'url',
    ]);
    const si = renderData(eventGenerator({ domains: 1, seed: 3, mix: { 'sender_identity.verified': 1 } })());
    expect(si.ok && si.data.object).toBe('sender_identity');
    expect(si.ok && (si.data.domain as { object: string }).object).toBe('domain');
  });

  it('gives every event type a dedupe id that is the event id, the same on every render', () => {
    const ids = new Map<string, string>();
    for (const type of EVENT_TYPES) {
      const event = eventGenerator({ domains: 2, seed: 9, mix: { [type]: 1 } })();
      const first = renderData(event);
      const again = renderData(structuredClone(event));
      expect(first.ok && again.ok).toBe(true);
      if (!first.ok || !again.ok) continue;
      const key = type.startsWith('activity.') ? first.data.id : first.data.event_id;
      expect(key, type).toBe(event.id);
      expect(type.startsWith('activity.') ? again.data.id : again.data.event_id).toBe(key);
      ids.set(type, String(key));
    }
    // Distinct events get distinct ids, so one receiver-side set dedupes every type.
    expect(new Set(ids.values()).size).toBe(EVENT_TYPES.length);
  });

  it('refuses an event without the part its type needs', () => {
    expect(renderData({ ...bounce(), email: null })).toMatchObject({ ok: false });
    expect(renderData({ ...bounce(), type: 'sender_identity.verified' })).toMatchObject({ ok: false });
  });
});
