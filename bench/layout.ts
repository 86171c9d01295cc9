/**
 * The benchmark's subscription design, shared by the producer side (bench/run.ts) and the receiver
 * (bench/receiver-main.ts) so that the expected (event, webhook) pairs are known exactly.
 *
 * W webhooks over D domains: K = W / D webhooks per domain, numbered by slot 0..K-1. Only the ten
 * `activity.*` types are produced (their payload carries the event id in `data.id`, which the receiver
 * needs). Type number t is subscribed by 1 + (t mod 3) webhooks of the event's domain, the slots
 * (t + j) mod K for j < 1 + (t mod 3). So an event of type t yields exactly 1 + (t mod 3) pairs, and a
 * delivery of type t to a slot outside that set is an error the receiver counts.
 */
import { randomBytes } from 'node:crypto';
import type { Webhook } from '@hookpost/contracts';
import { EVENT_TYPES, type EventType } from '@hookpost/events';
import { DEFAULT_MIX } from '@hookpost/loadgen';

export const ACTIVITY_TYPES = EVENT_TYPES.filter((t) => t.startsWith('activity.')) as EventType[];

/** The loadgen's realistic mix restricted to the activity types. */
export const ACTIVITY_MIX: Partial<Record<EventType, number>> = Object.fromEntries(
  ACTIVITY_TYPES.map((t) => [t, DEFAULT_MIX[t] ?? 1]),
);

export function typeIndex(type: string): number {
  return (ACTIVITY_TYPES as string[]).indexOf(type);
}

/** How many webhooks of its domain an event of type number t reaches. */
export function fanOf(t: number): number {
  return 1 + (t % 3);
}

/** Whether slot s of a domain with K webhooks subscribes to type number t. */
export function subscribes(t: number, s: number, k: number): boolean {
  const n = fanOf(t);
  for (let j = 0; j < n; j++) if ((t + j) % k === s) return true;
  return false;
}

/** The event types the webhook in slot s subscribes to. */
export function typesOfSlot(s: number, k: number): EventType[] {
  return ACTIVITY_TYPES.filter((_, t) => subscribes(t, s, k));
}

/** Event ids are `<phase>.<index>` so the receiver can count pairs in a flat array. */
export function eventId(phase: string, index: number): string {
  return `${phase}.${index}`;
}

export function parseEventId(id: string): { phase: string; index: number } | null {
  const dot = id.lastIndexOf('.');
  if (dot < 1) return null;
  const index = Number(id.slice(dot + 1));
  return Number.isInteger(index) ? { phase: id.slice(0, dot), index } : null;
}

export function domainId(phase: string, d: number): string {
  return `${phase}-dom-${d}`;
}

/** Webhook id of slot s in domain d. */
export function webhookId(phase: string, d: number, s: number): string {
  return `${phase}-wh-${d}-${s}`;
}

/** In the slow scenario every tenth webhook (by global number d*K+s) hangs. */
export function hangs(d: number, s: number, k: number): boolean {
  return (d * k + s) % 10 === 0;
}

/** Webhook `wh-<i>` of a stand-alone stage bench (bench/stages.ts, bench/filters-stage.ts), to example.com. */
export function stageWebhook(
  i: number,
  domain: string,
  events: EventType[],
  extra: Partial<Webhook> = {},
): Webhook {
  const now = Date.now();
  return {
    id: `wh-${i}`,
    account_id: 'acct',
    domain_id: domain,
    name: `bench ${i}`,
    url: `https://example.com/hooks/${i}`,
    events,
    enabled: true,
    status: 'active',
    status_reason: null,
    secrets: [{ value: `whsec_${randomBytes(32).toString('base64')}`, created_at: now, expires_at: null }],
    format: i % 2 ? 'jsonl' : 'json',
    batch: { max_events: 500, window_ms: 30_000 },
    timeout_ms: 10_000,
    auth: null,
    created_at: now,
    updated_at: now,
    version: 1,
    ...extra,
  };
}
