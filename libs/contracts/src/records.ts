/**
 * JSON documents on the internal topics. Each has one complete JSON Schema (record-schemas.ts) that its
 * writers' output passes and that every reader validates with before it touches a field. What an invalid
 * record becomes depends on the topic: on a work topic it is poison (to the DLQ with its bytes and the
 * reason, the partition moves on); on the others it is skipped, counted and logged.
 */
import type { PayloadFormat } from './webhook.ts';

/**
 * webhooks.dispatch, the fan-out's form: one record per event, listing every active webhook it goes to,
 * with the event's shared `data` once. Key: the event's domain id, so every record of a webhook (all its
 * events come from its domain) stays in one partition, in order. The batcher renders each webhook's
 * payload from it (`payloadText`), byte for byte the DispatchRecord payload the fan-out used to write.
 */
export interface EventDispatchRecord {
  event_id: string;
  type: string;
  domain_id: string;
  /** The payload's `created_at`, rendered (ISO-8601 with microseconds, as MailerSend writes it). */
  created_at: string;
  /** Event creation time at the MTA (ms), for end-to-end latency. */
  event_created_at: number;
  /** When fan-out produced it (ms). */
  dispatched_at: number;
  /** The webhooks it goes to, at least one, each once, with the URL the payload names. */
  webhooks: DispatchTarget[];
  /** The MailerSend-shaped `data` object, the same for every webhook of the event. */
  data: Record<string, unknown>;
}

export interface DispatchTarget {
  id: string;
  url: string;
}

/**
 * One rendered payload for one (event, webhook): what dead letters keep (`dispatch`) and what a replay of
 * one writes back to webhooks.dispatch (key: webhook id), where the batcher reads it beside the fan-out's
 * EventDispatchRecord.
 */
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

/** Why a record ended in the DLQ. To add one: a member here and its line in DEAD_LETTER_REASONS. */
export type DeadLetterReason =
  | 'exhausted'
  | 'suspended'
  | 'gone'
  | 'poison'
  | 'refused'
  | 'deleted'
  | 'unknown_type';

/**
 * Every reason with what it means; the dead-letter schema's enum is made from its keys. Typed as a record
 * of the union, so a reason added to the union without its line here fails the typecheck (and the other
 * way round), and readers never refuse letters a writer of the same build produces.
 */
export const DEAD_LETTER_REASONS: Readonly<Record<DeadLetterReason, string>> = {
  exhausted: 'every retry tier failed',
  suspended: 'the webhook is suspended or disabled',
  gone: 'the endpoint answered 410 Gone',
  poison: 'the input record is undecodable or invalid (its bytes are kept)',
  refused: 'the endpoint points into a network delivery may not reach',
  deleted: 'the webhook no longer exists',
  unknown_type: 'fan-out decoded an event whose type is not in the catalog (its bytes are kept)',
};

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
  /** The webhook's circuit in the delivering process right after this attempt (absent in older records). */
  circuit?: AttemptCircuit;
}

/** A webhook's circuit breaker as one delivery process saw it (docs/receiving.md, circuit breaker). */
export interface AttemptCircuit {
  state: 'closed' | 'open' | 'half_open';
  /** Consecutive failed attempts counted so far (0 once an attempt succeeds). */
  failures: number;
  /** When an open circuit lets its next probe through (ms); null when closed. */
  probe_at: number | null;
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

/** webhooks.dlq.replayed: the dead letter `dlq_id` was re-enqueued at `replayed_at` to `target`. Key: dlq_id. */
export interface LedgerEntry {
  dlq_id: string;
  webhook_id: string | null;
  target: 'batches' | 'dispatch';
  replayed_at: number;
  /** Who replayed: `cli`, `api:<token name>`. */
  by: string;
}

/** Why bytes are not a document: nothing there, not JSON, or JSON its schema refuses. */
export type ParseFailure = 'empty' | 'not_json' | 'invalid';
export const PARSE_FAILURES: readonly ParseFailure[] = ['empty', 'not_json', 'invalid'];

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };
/** A record parser's answer: the failure also says which kind it is (a bounded metric label). */
export type ParsedRecord<T> = { ok: true; value: T } | { ok: false; error: string; reason: ParseFailure };

/**
 * Bytes to a JSON value, or why not; never throws. The error names the position, never the input:
 * V8's message quotes the text around the fault, and these errors reach logs and dead letters.
 */
export function parseJsonBytes(buffer: Buffer | null): ParsedRecord<unknown> {
  if (!buffer || buffer.length === 0) return { ok: false, error: 'empty value', reason: 'empty' };
  try {
    return { ok: true, value: JSON.parse(buffer.toString('utf8')) };
  } catch (error) {
    const at = /at position (\d+)/.exec((error as Error).message)?.[1];
    const where =
      at !== undefined
        ? ` at position ${at}`
        : /end of JSON/.test((error as Error).message)
          ? ': unexpected end'
          : '';
    return { ok: false, error: `not JSON${where}`, reason: 'not_json' };
  }
}
