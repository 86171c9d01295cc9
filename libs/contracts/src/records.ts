/**
 * JSON documents on the internal topics. Every stage that reads one parses it with `parseJson` and
 * a shape check; a record that fails is poison and goes to the DLQ with its bytes and the reason.
 */
import type { PayloadFormat } from './webhook.ts';

/** webhooks.dispatch: one rendered payload for one (event, webhook). Key: webhook id. */
export interface DispatchRecord {
  event_id: string;
  webhook_id: string;
  type: string;
  /** Event creation time at the MTA (ms), for end-to-end latency. */
  event_created_at: number;
  /** When fan-out produced it (ms). */
  dispatched_at: number;
  /** The MailerSend-shaped payload (`type`, `domain_id`, `created_at`, `webhook_id`, `url`, `data`). */
  payload: Record<string, unknown>;
}

/** webhooks.batches: one POST's worth. Key: webhook id. */
export interface BatchRecord {
  /** Stable across retries and replays: the `webhook-id` header receivers dedupe on. */
  batch_id: string;
  webhook_id: string;
  format: PayloadFormat;
  /** The exact request body: a JSON array, or JSON Lines. */
  body: string;
  event_ids: string[];
  /** When the first event of the batch entered its window (ms). */
  first_enqueued_at: number;
  /** Event creation times: oldest, for latency accounting. */
  oldest_event_at: number;
  created_at: number;
}

/** One HTTP attempt's outcome, kept in retry records and dead letters. */
export interface AttemptOutcome {
  attempt: number;
  tier: string;
  at: number;
  status: number | null;
  latency_ms: number;
  error: string | null;
}

/** webhooks.retry.<tier>: a batch waiting for its due time (also in header x-due-at). */
export interface RetryRecord {
  batch: BatchRecord;
  /** Attempts made so far (the next one is attempt + 1). */
  attempt: number;
  tier: string;
  due_at: number;
  first_failed_at: number;
  last_error: string | null;
  history: AttemptOutcome[];
}

/** `unknown_type`: fan-out decoded an event whose `type` is not in the catalog (kept with its bytes). */
export type DeadLetterReason =
  | 'exhausted'
  | 'suspended'
  | 'gone'
  | 'poison'
  | 'refused'
  | 'deleted'
  | 'unknown_type';

/** webhooks.dlq: something that could not be delivered, kept whole with the reason. Key: webhook id. */
export interface DeadLetter {
  dlq_id: string;
  reason: DeadLetterReason;
  webhook_id: string | null;
  /** A batch that failed delivery (exhausted, gone, refused). */
  batch: BatchRecord | null;
  /** Dispatch records fan-out could not send (the webhook is suspended). */
  dispatch: DispatchRecord[] | null;
  attempts: AttemptOutcome[];
  error: string | null;
  dead_at: number;
  /** Where the record came from, and for poison its exact bytes. */
  source: {
    topic: string;
    partition: number;
    offset: string;
    key_b64: string | null;
    value_b64: string | null;
    headers: Record<string, string>;
  } | null;
}

/** webhooks.attempts: one HTTP attempt, for the 7-day delivery history. Key: webhook id. */
export interface AttemptRecord {
  webhook_id: string;
  batch_id: string;
  attempt: number;
  tier: string;
  at: number;
  status: number | null;
  latency_ms: number;
  outcome: 'delivered' | 'retry' | 'dead';
  error: string | null;
  response_excerpt: string | null;
  event_count: number;
}

/** webhooks.operational: notices for owners and operators. Key: webhook id. */
export interface OperationalNotice {
  type: 'webhook.suspended' | 'webhook.resumed';
  webhook_id: string;
  account_id: string;
  domain_id: string;
  reason: string;
  at: number;
  counts: Record<string, number>;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

/** Parses JSON and checks the listed fields exist with the given typeof; never throws. */
export function parseJson<T>(
  buffer: Buffer | null,
  required: Record<string, 'string' | 'number' | 'object' | 'boolean'>,
): Parsed<T> {
  const json = parseJsonBytes(buffer);
  if (!json.ok) return json;
  const value = json.value;
  if (!value || typeof value !== 'object' || Array.isArray(value))
    return { ok: false, error: 'not a JSON object' };
  for (const [field, type] of Object.entries(required)) {
    const v = (value as Record<string, unknown>)[field];
    if (typeof v !== type || v === null) return { ok: false, error: `field ${field} must be ${type}` };
  }
  return { ok: true, value: value as T };
}

export const DISPATCH_FIELDS = {
  event_id: 'string',
  webhook_id: 'string',
  type: 'string',
  payload: 'object',
} as const;
export const BATCH_FIELDS = {
  batch_id: 'string',
  webhook_id: 'string',
  body: 'string',
  event_ids: 'object',
} as const;
export const RETRY_FIELDS = { batch: 'object', attempt: 'number', due_at: 'number' } as const;
export const DEAD_LETTER_FIELDS = { dlq_id: 'string', reason: 'string', dead_at: 'number' } as const;
export const ATTEMPT_FIELDS = { webhook_id: 'string', batch_id: 'string', at: 'number' } as const;

/** Bytes to a JSON value, or why not; never throws. */
export function parseJsonBytes(buffer: Buffer | null): Parsed<unknown> {
  if (!buffer || buffer.length === 0) return { ok: false, error: 'empty value' };
  try {
    return { ok: true, value: JSON.parse(buffer.toString('utf8')) };
  } catch (error) {
    return { ok: false, error: `not JSON: ${(error as Error).message}` };
  }
}
