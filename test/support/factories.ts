/**
 * The tests' record factories: one valid record of each document of libs/contracts (records.ts) and
 * email events, with defaults a test overrides where it is about that field.
 */
import { randomUUID } from 'node:crypto';
import type {
  AttemptOutcome,
  AttemptRecord,
  BatchRecord,
  DeadLetter,
  DispatchRecord,
  RetryRecord,
  Webhook,
} from '@hookpost/contracts';
import type { EmailEvent } from '@hookpost/events';
import { eventGenerator } from '@hookpost/loadgen';

/** Email events of one domain and type, a deterministic sequence per `seed`. */
export function emailEvents(
  domain: string,
  type: EmailEvent['type'] = 'activity.delivered',
  seed = 1,
): () => EmailEvent {
  return eventGenerator({ domains: 1, seed, domainId: () => domain, mix: { [type]: 1 } });
}

/** The MailerSend-shaped payload fan-out builds for `webhook` from event `id`. */
function payload(webhook: Webhook, id: string, now: number) {
  return {
    type: 'activity.delivered',
    domain_id: webhook.domain_id,
    created_at: new Date(now).toISOString(),
    webhook_id: webhook.id,
    url: webhook.url,
    data: { object: 'activity', id },
  };
}

export function makeDispatch(
  webhook: Webhook,
  id: string,
  over: Partial<DispatchRecord> = {},
): DispatchRecord {
  const now = Date.now();
  return {
    event_id: id,
    webhook_id: webhook.id,
    type: 'activity.delivered',
    event_created_at: now,
    dispatched_at: now,
    payload: payload(webhook, id, now),
    ...over,
  };
}

/** A batch of `events` events (ids `<batch id>-e<i>`), or of the given event ids. */
export function makeBatch(
  webhook: Webhook,
  events: number | string[] = 3,
  id = `b-${randomUUID()}`,
): BatchRecord {
  const now = Date.now();
  const ids = typeof events === 'number' ? Array.from({ length: events }, (_, i) => `${id}-e${i}`) : events;
  return {
    batch_id: id,
    webhook_id: webhook.id,
    format: webhook.format,
    body: JSON.stringify(ids.map((e) => payload(webhook, e, now))),
    event_ids: ids,
    first_enqueued_at: now,
    oldest_event_at: now,
    created_at: now,
  };
}

/** One failed attempt: attempt 1 on main, HTTP 500. */
export function failedAttempt(at: number, over: Partial<AttemptOutcome> = {}): AttemptOutcome {
  return { attempt: 1, tier: 'main', at, status: 500, latency_ms: 3, error: 'HTTP 500', ...over };
}

/** `batch` after its first failed attempt, due now on `tier`. */
export function makeRetry(batch: BatchRecord, tier: string, over: Partial<RetryRecord> = {}): RetryRecord {
  const now = Date.now();
  return {
    batch,
    attempt: 1,
    tier,
    due_at: now,
    first_failed_at: now,
    last_error: 'HTTP 500',
    history: [],
    ...over,
  };
}

/** `batch` dead after one failed attempt (reason exhausted), dead at `deadAt`. */
export function makeDeadLetter(
  batch: BatchRecord,
  deadAt = Date.now(),
  over: Partial<DeadLetter> = {},
): DeadLetter {
  return {
    dlq_id: `dlq-${randomUUID()}`,
    reason: 'exhausted',
    webhook_id: batch.webhook_id,
    batch,
    dispatch: null,
    attempts: [failedAttempt(deadAt)],
    error: 'HTTP 500',
    dead_at: deadAt,
    source: null,
    ...over,
  };
}

/** A delivered attempt (HTTP 200 in 4 ms) of one event's batch. */
export function makeAttempt(
  webhookId: string,
  batchId: string,
  over: Partial<AttemptRecord> = {},
): AttemptRecord {
  return {
    webhook_id: webhookId,
    batch_id: batchId,
    attempt: 1,
    tier: 'main',
    at: Date.now(),
    status: 200,
    latency_ms: 4,
    outcome: 'delivered',
    error: null,
    response_excerpt: null,
    event_count: 1,
    ...over,
  };
}
