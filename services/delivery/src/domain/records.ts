/**
 * Builders of the documents delivery writes; pure, so their shapes are tested without Kafka. Dead letters
 * come from @hookpost/contracts' deadLetterMessage, the writer every stage shares.
 */
import type {
  AttemptOutcome,
  AttemptRecord,
  BatchRecord,
  OperationalNotice,
  RetryRecord,
  Webhook,
} from '@hookpost/contracts';
import type { SendOutcome } from '@hookpost/sender';

/** Response excerpts are bounded again here: the attempts topic is a history, not a body store. */
const EXCERPT_MAX = 512;

export function attemptOutcome(attempt: number, tier: string, at: number, r: SendOutcome): AttemptOutcome {
  return { attempt, tier, at, status: r.status, latency_ms: r.latencyMs, error: r.error };
}

export function attemptRecord(
  batch: BatchRecord,
  attempt: number,
  tier: string,
  at: number,
  r: SendOutcome,
  outcome: AttemptRecord['outcome'],
  circuit: AttemptRecord['circuit'],
): AttemptRecord {
  return {
    webhook_id: batch.webhook_id,
    batch_id: batch.batch_id,
    attempt,
    tier,
    at,
    status: r.status,
    latency_ms: r.latencyMs,
    outcome,
    error: r.error,
    response_excerpt: r.responseExcerpt === null ? null : r.responseExcerpt.slice(0, EXCERPT_MAX),
    event_count: batch.event_ids.length,
    circuit,
  };
}

export function retryRecord(
  batch: BatchRecord,
  history: AttemptOutcome[],
  tier: string,
  dueAt: number,
  firstFailedAt: number,
): RetryRecord {
  const last = history[history.length - 1];
  return {
    batch,
    attempt: history.length,
    tier,
    due_at: dueAt,
    first_failed_at: firstFailedAt,
    last_error: last?.error ?? (last?.status ? `HTTP ${last.status}` : null),
    history,
  };
}

export function suspendedNotice(
  webhook: Pick<Webhook, 'id' | 'account_id' | 'domain_id'>,
  reason: string,
  counts: Record<string, number>,
  now: number,
): OperationalNotice {
  return {
    type: 'webhook.suspended',
    webhook_id: webhook.id,
    account_id: webhook.account_id,
    domain_id: webhook.domain_id,
    reason,
    at: now,
    counts,
  };
}

/** The webhook as the suspender writes it: suspended, with the reason, one version later. */
export function suspend(webhook: Webhook, reason: string, now: number): Webhook {
  return {
    ...webhook,
    status: 'suspended',
    status_reason: reason,
    status_changed_at: now,
    updated_at: now,
    version: webhook.version + 1,
  };
}
