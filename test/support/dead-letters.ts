/** Dead letters for tests that seed the DLQ directly: the contract's shape, one batch of `events` events. */
import { randomUUID } from 'node:crypto';
import type { DeadLetter } from '@hookpost/contracts';

export function batchDeadLetter(webhookId: string, deadAt: number, events = 1): DeadLetter {
  const batchId = `batch-${randomUUID()}`;
  const ids = Array.from({ length: events }, (_, i) => `${batchId}-e${i + 1}`);
  return {
    dlq_id: `dlq-${randomUUID()}`,
    reason: 'exhausted',
    webhook_id: webhookId,
    batch: {
      batch_id: batchId,
      webhook_id: webhookId,
      format: 'json',
      body: JSON.stringify(ids.map((id) => ({ type: 'activity.delivered', id }))),
      event_ids: ids,
      first_enqueued_at: deadAt,
      oldest_event_at: deadAt,
      created_at: deadAt,
    },
    dispatch: null,
    attempts: [{ attempt: 1, tier: 'main', at: deadAt, status: 500, latency_ms: 3, error: 'HTTP 500' }],
    error: 'HTTP 500',
    dead_at: deadAt,
    source: null,
  };
}
