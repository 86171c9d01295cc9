/** The JSON types of every field of the documents on the topics (libs/contracts records.ts, schemas.ts). */
import type { FieldSpec } from './arbitraries.ts';

export const S = ['string'] as const;
export const N = ['number'] as const;
const SN = ['string', 'null'] as const;
export const O = ['object'] as const;
export const A = ['array'] as const;

export const DISPATCH: FieldSpec = {
  event_id: S,
  webhook_id: S,
  type: S,
  event_created_at: N,
  dispatched_at: N,
  payload: O,
};
/** The fan-out's per-event record but its `data` (the framed form's head, libs/contracts dispatch-wire.ts). */
export const EVENT_DISPATCH_HEAD: FieldSpec = {
  event_id: S,
  type: S,
  domain_id: S,
  created_at: S,
  event_created_at: N,
  dispatched_at: N,
  webhooks: A,
};
export const BATCH: FieldSpec = {
  batch_id: S,
  webhook_id: S,
  format: S,
  body: S,
  event_ids: A,
  first_enqueued_at: N,
  oldest_event_at: N,
  created_at: N,
};
/** A batch record but its body (the framed form's head, libs/contracts batch-wire.ts). */
export const BATCH_HEAD: FieldSpec = Object.fromEntries(Object.entries(BATCH).filter(([f]) => f !== 'body'));
export const RETRY: FieldSpec = {
  batch: O,
  attempt: N,
  tier: S,
  due_at: N,
  first_failed_at: N,
  last_error: SN,
  history: A,
};
export const DEAD: FieldSpec = {
  dlq_id: S,
  reason: S,
  webhook_id: SN,
  batch: ['object', 'null'],
  dispatch: ['array', 'null'],
  attempts: A,
  error: SN,
  dead_at: N,
  source: ['object', 'null'],
};
export const ATTEMPT: FieldSpec = {
  webhook_id: S,
  batch_id: S,
  attempt: N,
  tier: S,
  at: N,
  status: ['number', 'null'],
  latency_ms: N,
  outcome: S,
  error: SN,
  response_excerpt: SN,
  event_count: N,
};
export const NOTICE: FieldSpec = {
  type: S,
  webhook_id: S,
  account_id: S,
  domain_id: S,
  reason: S,
  at: N,
  counts: O,
};
export const LEDGER: FieldSpec = { dlq_id: S, webhook_id: SN, target: S, replayed_at: N, by: S };
export const STORED: FieldSpec = {
  id: S,
  account_id: S,
  domain_id: S,
  name: S,
  url: S,
  events: A,
  enabled: ['boolean'],
  status: S,
  status_reason: SN,
  secrets: A,
  format: S,
  batch: O,
  timeout_ms: N,
  auth: ['object', 'null'],
  created_at: N,
  updated_at: N,
  version: N,
};
