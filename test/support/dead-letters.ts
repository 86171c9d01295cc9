/** Dead letters for tests that seed the DLQ directly: the contract's shape, one batch of `events` events. */
import { randomUUID } from 'node:crypto';
import type { DeadLetter } from '@hookpost/contracts';
import { makeDeadLetter } from './factories.ts';

export function batchDeadLetter(webhookId: string, deadAt: number, events = 1): DeadLetter {
  const batchId = `batch-${randomUUID()}`;
  const ids = Array.from({ length: events }, (_, i) => `${batchId}-e${i + 1}`);
  const batch = {
    batch_id: batchId,
    webhook_id: webhookId,
    format: 'json' as const,
    body: JSON.stringify(ids.map((id) => ({ type: 'activity.delivered', id }))),
    event_ids: ids,
    first_enqueued_at: deadAt,
    oldest_event_at: deadAt,
    created_at: deadAt,
  };
  return makeDeadLetter(batch, deadAt);
}
