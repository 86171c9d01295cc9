/**
 * Pure selection logic over dead letters: filtering, summarising, and deciding what a replay of one
 * record means. No Kafka here, so every rule is unit-tested.
 */
import {
  type DeadLetter,
  type DeadLetterReason,
  type LedgerEntry,
  type Webhook,
  webhookVersionHeader,
} from '@hookpost/contracts';

export interface DeadLetterFilter {
  webhookId?: string;
  reasons?: readonly string[];
  /** Inclusive lower bound on dead_at (ms). */
  from?: number;
  /** Exclusive upper bound on dead_at (ms). */
  to?: number;
}

export function matches(dl: DeadLetter, filter: DeadLetterFilter): boolean {
  if (filter.webhookId !== undefined && dl.webhook_id !== filter.webhookId) return false;
  if (filter.reasons && filter.reasons.length > 0 && !filter.reasons.includes(dl.reason)) return false;
  if (filter.from !== undefined && dl.dead_at < filter.from) return false;
  if (filter.to !== undefined && dl.dead_at >= filter.to) return false;
  return true;
}

export interface SummaryRow {
  webhook_id: string | null;
  reason: string;
  count: number;
  /** Events held (batch event ids or dispatch records). */
  events: number;
  oldest: number;
  newest: number;
}

/** Counts by (webhook, reason), most records first. */
export function summarise(dls: readonly DeadLetter[]): SummaryRow[] {
  const rows = new Map<string, SummaryRow>();
  for (const dl of dls) {
    const key = `${dl.webhook_id ?? ''}\u0000${dl.reason}`;
    let row = rows.get(key);
    if (!row) {
      row = {
        webhook_id: dl.webhook_id,
        reason: dl.reason,
        count: 0,
        events: 0,
        oldest: dl.dead_at,
        newest: dl.dead_at,
      };
      rows.set(key, row);
    }
    row.count += 1;
    row.events += eventCount(dl);
    row.oldest = Math.min(row.oldest, dl.dead_at);
    row.newest = Math.max(row.newest, dl.dead_at);
  }
  return [...rows.values()].sort(
    (a, b) => b.count - a.count || String(a.webhook_id).localeCompare(String(b.webhook_id)),
  );
}

export function eventCount(dl: DeadLetter): number {
  return (dl.batch?.event_ids.length ?? 0) + (dl.dispatch?.length ?? 0);
}

export type SkipReason = 'already_replayed' | 'not_replayable' | 'webhook_missing' | 'webhook_suspended';

/** Where one dead letter goes on replay, or why it does not. */
export type ReplayDecision =
  | { ok: true; target: 'batches' | 'dispatch'; webhookId: string }
  | { ok: false; skip: SkipReason; detail: string };

export interface DecideOptions {
  replayed: ReadonlySet<string>;
  force: boolean;
  lookup: (id: string) => Webhook | undefined;
  /** Webhook ids the caller is about to resume (so suspension does not refuse them). */
  resuming: ReadonlySet<string>;
}

const NEVER_REPLAYED: ReadonlySet<DeadLetterReason> = new Set(['poison', 'deleted']);

/**
 * Decides one record. Batches go back to webhooks.batches unchanged (same batch_id, body and event
 * ids, so receivers can drop what they already have); dispatch-only dead letters (fan-out met a
 * suspended webhook) go back to webhooks.dispatch to be batched afresh. Poison has no webhook to go to
 * and a deleted webhook has no endpoint: both stay for an SRE to inspect.
 */
export function decide(dl: DeadLetter, options: DecideOptions): ReplayDecision {
  if (!options.force && options.replayed.has(dl.dlq_id))
    return { ok: false, skip: 'already_replayed', detail: 'already replayed (use force to replay again)' };
  if (NEVER_REPLAYED.has(dl.reason) || !dl.webhook_id)
    return { ok: false, skip: 'not_replayable', detail: `reason ${dl.reason} is not replayable` };
  const target = dl.batch ? 'batches' : dl.dispatch && dl.dispatch.length > 0 ? 'dispatch' : null;
  if (!target)
    return { ok: false, skip: 'not_replayable', detail: 'holds neither a batch nor dispatch records' };
  const webhook = options.lookup(dl.webhook_id);
  if (!webhook) return { ok: false, skip: 'webhook_missing', detail: 'webhook no longer exists' };
  if (webhook.status === 'suspended' && !options.resuming.has(webhook.id))
    return { ok: false, skip: 'webhook_suspended', detail: 'webhook is suspended (resume it first)' };
  return { ok: true, target, webhookId: dl.webhook_id };
}

/**
 * The records a replay produces for one dead letter: the batch as it was, or each dispatch record.
 * `webhookVersion` is the version of the webhook document the replayer saw (after any resume): delivery,
 * whose own table may not have read that resume yet, waits for it instead of finding the webhook
 * suspended and dead-lettering the replay again.
 */
export function replayMessages(
  dl: DeadLetter,
  now: number,
  headers: { replayOf: string; replayedAt: string },
  webhookVersion: number | undefined,
): { key: string; value: string; headers: Record<string, string> }[] {
  const h = {
    [headers.replayOf]: dl.dlq_id,
    [headers.replayedAt]: String(now),
    ...(webhookVersion === undefined ? {} : webhookVersionHeader(webhookVersion)),
  };
  const key = dl.webhook_id ?? '';
  if (dl.batch) return [{ key, value: JSON.stringify(dl.batch), headers: h }];
  return (dl.dispatch ?? []).map((d) => ({ key, value: JSON.stringify(d), headers: h }));
}

/** The ledger record of one replayed dead letter, produced in the replay's transaction. */
export function ledgerEntry(
  dl: DeadLetter,
  target: LedgerEntry['target'],
  at: number,
  by: string,
): LedgerEntry {
  return { dlq_id: dl.dlq_id, webhook_id: dl.webhook_id, target, replayed_at: at, by };
}
