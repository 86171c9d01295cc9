/**
 * One complete JSON Schema per document on the internal topics, compiled once with ajv. Writers' output
 * passes them (records.test.ts checks every writer with fast-check) and every reader validates with them
 * before it touches a field; `parse*` never throws, whatever the bytes.
 *
 * Policy on properties: every declared field is required with its full type (nulls where the type has
 * them), nested documents are checked whole, and properties a schema does not declare are allowed and
 * ignored (`additionalProperties` left open). During a rolling upgrade a newer writer may add a field; a
 * closed schema would turn each such record into poison for the older readers of a work topic, i.e.
 * dead-letter valid work. Maps (`counts`, `source.headers`) constrain their values instead.
 */
import { isUtf8 } from 'node:buffer';
import type { ValidateFunction } from 'ajv';
import { type BatchMeta, isFramedBatch, splitFramedBatch, withBodyBytes } from './batch-wire.ts';
import { type EventDispatchHead, isFramedDispatch, splitFramedDispatch } from './dispatch-wire.ts';
import { checkJson } from './json-check.ts';
import {
  type AttemptRecord,
  type BatchRecord,
  DEAD_LETTER_REASONS,
  type DeadLetter,
  type DispatchRecord,
  type EventDispatchRecord,
  type LedgerEntry,
  type OperationalNotice,
  type ParsedRecord,
  parseJsonBytes,
  type RetryRecord,
} from './records.ts';
import { ajv, describe, parseRecord } from './schemas.ts';

const id = { type: 'string', minLength: 1 } as const;
const text = { type: 'string' } as const;
const textOrNull = { type: ['string', 'null'] } as const;
/** Epoch milliseconds, counts, partitions: non-negative integers. */
const natural = { type: 'integer', minimum: 0 } as const;
const attemptNo = { type: 'integer', minimum: 1 } as const;
const status = { type: ['integer', 'null'] } as const;

/** A document whose every listed property is required. */
function doc<P extends Record<string, unknown>>(properties: P) {
  return { type: 'object', required: Object.keys(properties), properties } as const;
}

const dispatchSchema = doc({
  event_id: id,
  webhook_id: id,
  type: id,
  event_created_at: natural,
  dispatched_at: natural,
  // The rendered customer payload: opaque to the pipeline, which only serialises it into the body.
  payload: { type: 'object' },
});

const eventDispatchFields = {
  event_id: id,
  type: id,
  domain_id: id,
  created_at: text,
  event_created_at: natural,
  dispatched_at: natural,
  webhooks: {
    type: 'array',
    minItems: 1,
    items: doc({ id, url: text }),
  },
};
const eventDispatchSchema = doc({ ...eventDispatchFields, data: { type: 'object' } });
/** The framed form's head (dispatch-wire.ts): every field but `data`, which follows as bytes. */
const eventDispatchHeadSchema = doc(eventDispatchFields);

const batchFields = {
  batch_id: id,
  webhook_id: id,
  format: { enum: ['json', 'jsonl'] },
  event_ids: { type: 'array', items: id },
  first_enqueued_at: natural,
  oldest_event_at: natural,
  created_at: natural,
} as const;
const batchSchema = doc({ ...batchFields, body: text });
/** The head of a framed batch record (batch-wire.ts): every field but the body, which follows it as bytes. */
const batchHeadSchema = doc(batchFields);

const attemptOutcomeSchema = doc({
  attempt: attemptNo,
  tier: id,
  at: natural,
  status,
  latency_ms: natural,
  error: textOrNull,
});

const retrySchema = doc({
  batch: batchSchema,
  attempt: attemptNo,
  tier: id,
  due_at: natural,
  first_failed_at: natural,
  last_error: textOrNull,
  history: { type: 'array', items: attemptOutcomeSchema },
});

const sourceSchema = doc({
  topic: id,
  partition: natural,
  offset: { type: 'string', pattern: '^[0-9]{1,20}$' },
  key_b64: textOrNull,
  value_b64: textOrNull,
  headers: { type: 'object', additionalProperties: text },
});

const deadLetterSchema = doc({
  dlq_id: id,
  reason: { enum: Object.keys(DEAD_LETTER_REASONS) },
  webhook_id: { type: ['string', 'null'], minLength: 1 },
  batch: { oneOf: [{ type: 'null' }, batchSchema] },
  dispatch: { oneOf: [{ type: 'null' }, { type: 'array', items: dispatchSchema }] },
  attempts: { type: 'array', items: attemptOutcomeSchema },
  error: textOrNull,
  dead_at: natural,
  source: { oneOf: [{ type: 'null' }, sourceSchema] },
});

const attemptBase = doc({
  webhook_id: id,
  batch_id: id,
  attempt: attemptNo,
  tier: id,
  at: natural,
  status,
  latency_ms: natural,
  outcome: { enum: ['delivered', 'retry', 'dead'] },
  error: textOrNull,
  response_excerpt: textOrNull,
  event_count: natural,
});
/** `circuit` is optional: records written before it existed have none. */
const attemptSchema = {
  ...attemptBase,
  properties: {
    ...attemptBase.properties,
    circuit: {
      type: 'object',
      required: ['state', 'failures', 'probe_at'],
      properties: {
        state: { enum: ['closed', 'open', 'half_open'] },
        failures: natural,
        probe_at: { oneOf: [{ type: 'null' }, natural] },
      },
    },
  },
} as const;

const noticeSchema = doc({
  type: { enum: ['webhook.suspended', 'webhook.resumed'] },
  webhook_id: id,
  account_id: text,
  domain_id: text,
  reason: text,
  at: natural,
  counts: { type: 'object', additionalProperties: natural },
});

const ledgerEntrySchema = doc({
  dlq_id: id,
  webhook_id: { type: ['string', 'null'], minLength: 1 },
  target: { enum: ['batches', 'dispatch'] },
  replayed_at: natural,
  by: text,
});

/** A never-throwing parser of bytes into `T`, validated by `schema` (compiled once, here). */
function parser<T>(schema: object): (b: Buffer | null) => ParsedRecord<T> {
  const validate: ValidateFunction<T> = ajv.compile<T>(schema);
  return (b) => parseRecord(b, validate);
}

/** A per-webhook dispatch record (in dead letters, and on webhooks.dispatch after a replay). */
export const parseDispatchRecord = parser<DispatchRecord>(dispatchSchema);

/**
 * What the batcher reads on webhooks.dispatch: the per-event record (framed, or JSON with `webhooks`)
 * or a per-webhook one (a replay's). A framed record's `dataBytes` are its `data` as the fan-out
 * serialised it: a view of the record's bytes, for the payloads (dispatch-wire.ts).
 */
export type EventDispatchInput =
  /** The per-event JSON form: `data` parsed, inside the record. */
  | { kind: 'event'; record: EventDispatchRecord; dataBytes?: undefined }
  /** The framed form: the head parsed, `data` as the record's bytes (checked, never parsed). */
  | { kind: 'event'; record: EventDispatchHead; dataBytes: Buffer };
export type DispatchInput = EventDispatchInput | { kind: 'webhook'; record: DispatchRecord };

const validateDispatch: ValidateFunction<DispatchRecord> = ajv.compile<DispatchRecord>(dispatchSchema);
const validateEventDispatch: ValidateFunction<EventDispatchRecord> =
  ajv.compile<EventDispatchRecord>(eventDispatchSchema);

const validateEventDispatchHead: ValidateFunction<EventDispatchHead> =
  ajv.compile<EventDispatchHead>(eventDispatchHeadSchema);

/**
 * webhooks.dispatch (read by the batcher: a work topic). The fan-out's framed per-event form
 * (dispatch-wire.ts): the head parsed and validated, the data bytes checked to be one JSON object in
 * UTF-8 and kept as they are. Otherwise one JSON parse; a document with a `webhooks` property is the
 * per-event JSON form and must pass its schema, any other the per-webhook one (a replay's).
 */
export function parseDispatchInput(b: Buffer | null): ParsedRecord<DispatchInput> {
  if (b && isFramedDispatch(b)) return parseFramedDispatch(b);
  const json = parseJsonBytes(b);
  if (!json.ok) return json;
  const value = json.value;
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'webhooks' in value) {
    if (!validateEventDispatch(value))
      return { ok: false, error: describe(validateEventDispatch), reason: 'invalid' };
    return { ok: true, value: { kind: 'event', record: value } };
  }
  if (!validateDispatch(value)) return { ok: false, error: describe(validateDispatch), reason: 'invalid' };
  return { ok: true, value: { kind: 'webhook', record: value } };
}
function parseFramedDispatch(b: Buffer): ParsedRecord<DispatchInput> {
  const parts = splitFramedDispatch(b);
  if (!parts)
    return {
      ok: false,
      error: 'framed dispatch record without the newline after its head',
      reason: 'invalid',
    };
  const head = parseRecord(parts.head, validateEventDispatchHead);
  if (!head.ok) return { ...head, error: `head: ${head.error}` };
  // Copied into payloads as they are, so they must be what the JSON form's schema asks of `data`: one
  // JSON object, in UTF-8. Checked by a scanner that builds nothing (json-check.ts): JSON.parse made a
  // string and an object tree per record only for the garbage collector.
  if (parts.data.length === 0) return { ok: false, error: 'data: empty value', reason: 'empty' };
  if (!isUtf8(parts.data)) return { ok: false, error: 'data is not UTF-8', reason: 'invalid' };
  const data = checkJson(parts.data);
  if (!data.ok) return { ok: false, error: `data: not JSON at position ${data.at}`, reason: 'not_json' };
  if (!data.object) return { ok: false, error: 'data is not a JSON object', reason: 'invalid' };
  return { ok: true, value: { kind: 'event', record: head.value, dataBytes: parts.data } };
}

const parseBatchJson = parser<BatchRecord>(batchSchema);
const validateBatchHead: ValidateFunction<BatchMeta> = ajv.compile<BatchMeta>(batchHeadSchema);

/**
 * webhooks.batches (read by delivery's main consumer: a work topic), in either form: the batcher's
 * framed record (batch-wire.ts: its body kept as the record's bytes) or a BatchRecord's JSON.
 */
export function parseBatchRecord(b: Buffer | null): ParsedRecord<BatchRecord> {
  if (!b || !isFramedBatch(b)) return parseBatchJson(b);
  const parts = splitFramedBatch(b);
  if (!parts)
    return { ok: false, error: 'framed batch record without the newline after its head', reason: 'invalid' };
  const head = parseRecord(parts.head, validateBatchHead);
  if (!head.ok) return { ...head, error: `head: ${head.error}` };
  // The body is sent as it is, and a dead letter or retry record carries it as a string: it must decode.
  if (!isUtf8(parts.body)) return { ok: false, error: 'body is not UTF-8', reason: 'invalid' };
  return { ok: true, value: withBodyBytes(head.value, parts.body) };
}
/** webhooks.retry.<tier> (read by the tier consumers: work topics). */
export const parseRetryRecord = parser<RetryRecord>(retrySchema);
/** webhooks.dlq (read by the suspender, the API's resend and the dlq CLI). */
export const parseDeadLetter = parser<DeadLetter>(deadLetterSchema);
/** webhooks.attempts (read by the API's delivery history). */
export const parseAttemptRecord = parser<AttemptRecord>(attemptSchema);
/** webhooks.operational (read by owners' and operators' tooling). */
export const parseOperationalNotice = parser<OperationalNotice>(noticeSchema);
/** webhooks.dlq.replayed (read by every replay). */
export const parseLedgerEntry = parser<LedgerEntry>(ledgerEntrySchema);
