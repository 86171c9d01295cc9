import type { OperationalNotice, Webhook } from '@hookpost/contracts';
import type { SerialProducer } from '@hookpost/kafka';
import { type SubscriptionTable, type SubscriptionWriter, writeThrough } from '@hookpost/subscriptions';

/** The document after an explicit resume: active again (since now), reason cleared, a newer version. */
function resumedWebhook(webhook: Webhook, now: number): Webhook {
  return {
    ...webhook,
    status: 'active',
    status_reason: null,
    status_changed_at: now,
    version: webhook.version + 1,
    updated_at: now,
  };
}

export function resumedNotice(webhook: Webhook, now: number, by: string): OperationalNotice {
  return {
    type: 'webhook.resumed',
    webhook_id: webhook.id,
    account_id: webhook.account_id,
    domain_id: webhook.domain_id,
    reason: `resumed by ${by} (was suspended: ${webhook.status_reason ?? 'unknown'})`,
    at: now,
    counts: {},
  };
}

export interface ResumeDeps {
  writer: SubscriptionWriter;
  table: SubscriptionTable;
  /** Producer for the operational topic. */
  notices: SerialProducer;
  operationalTopic: string;
  now: () => number;
}

export type ResumeResult =
  | { ok: true; webhook: Webhook; changed: boolean }
  | { ok: false; reason: 'not_found' };

/**
 * Resumes a suspended webhook: writes the active document, waits until this process's table shows it
 * (so a caller that replays next sees it active), then tells the owner with a `webhook.resumed` notice.
 * Resuming an active webhook changes nothing and sends no notice. Only this process's table is waited
 * for: delivery's may read the resume later, so replay stamps each record with the version it saw
 * (x-webhook-version) and delivery waits for that version before it judges the webhook suspended.
 */
export async function resumeWebhook(deps: ResumeDeps, id: string, by: string): Promise<ResumeResult> {
  const current = deps.table.get(id);
  if (!current) return { ok: false, reason: 'not_found' };
  if (current.status !== 'suspended') return { ok: true, webhook: current, changed: false };
  const now = deps.now();
  const next = resumedWebhook(current, now);
  await writeThrough(deps, (w) => w.put(next));
  await deps.notices.send(deps.operationalTopic, [
    { key: id, value: JSON.stringify(resumedNotice(current, now, by)) },
  ]);
  return { ok: true, webhook: deps.table.get(id) ?? next, changed: true };
}
