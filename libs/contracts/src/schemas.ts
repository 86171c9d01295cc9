/**
 * Complete JSON Schemas for the documents read from Kafka, compiled once with ajv. A `typeof` check on a
 * few fields let `{"events":{"0":"activity.delivered"}}` through, and every subscription table then threw
 * `w.events is not iterable` on it for good (the record stays in the compacted topic). A reader validates
 * the whole document with these before it touches a field.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { StoredWebhook } from './crypto.ts';
import { compileFilter, filterField } from './filter.ts';
import { type Parsed, type ParsedRecord, parseJsonBytes } from './records.ts';

/** One ajv instance for every schema of the package (record-schemas.ts compiles on it too). */
export const ajv = new Ajv({ allErrors: false, strict: true });

const int = { type: 'integer' } as const;
const str = { type: 'string' } as const;

const storedWebhookSchema = {
  type: 'object',
  required: [
    'id',
    'account_id',
    'domain_id',
    'name',
    'url',
    'events',
    'enabled',
    'status',
    'status_reason',
    'secrets',
    'format',
    'batch',
    'timeout_ms',
    'auth',
    'created_at',
    'updated_at',
    'version',
  ],
  properties: {
    id: { type: 'string', minLength: 1 },
    account_id: str,
    domain_id: str,
    name: str,
    url: str,
    events: { type: 'array', items: str },
    enabled: { type: 'boolean' },
    status: { enum: ['active', 'suspended'] },
    status_reason: { type: ['string', 'null'] },
    // Optional: documents written before it existed stay valid.
    status_changed_at: int,
    secrets: {
      type: 'array',
      items: {
        type: 'object',
        required: ['sealed', 'created_at', 'expires_at'],
        properties: { sealed: str, created_at: int, expires_at: { type: ['integer', 'null'] } },
      },
    },
    format: { enum: ['json', 'jsonl'] },
    batch: {
      type: 'object',
      required: ['max_events', 'window_ms'],
      properties: { max_events: int, window_ms: int },
    },
    timeout_ms: int,
    auth: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          required: ['type', 'username', 'sealed_password'],
          properties: { type: { const: 'basic' }, username: str, sealed_password: str },
        },
        {
          type: 'object',
          required: ['type', 'param', 'sealed_value'],
          properties: { type: { const: 'token' }, param: str, sealed_value: str },
        },
      ],
    },
    // Optional: documents written before it existed stay valid. Its content is checked by compileFilter.
    filter: { type: ['object', 'null'] },
    created_at: int,
    updated_at: int,
    version: int,
  },
} as const;

const storedWebhookValidator = ajv.compile<StoredWebhook>(storedWebhookSchema);

/** Ajv's first error as `<json pointer> <message>`; bounded, since the pointer is made of the input's keys. */
export function describe(v: ValidateFunction): string {
  const e = v.errors?.[0];
  if (!e) return 'invalid document';
  return `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`.slice(0, 200);
}

/** Parses bytes as JSON and validates them with a compiled schema, saying which kind of failure; never throws. */
export function parseRecord<T>(buffer: Buffer | null, validate: ValidateFunction<T>): ParsedRecord<T> {
  const json = parseJsonBytes(buffer);
  if (!json.ok) return json;
  const value = json.value;
  if (!validate(value)) return { ok: false, error: describe(validate), reason: 'invalid' };
  return { ok: true, value };
}

/** Parses bytes as JSON and validates them with a compiled schema; never throws. */
function parseValidated<T>(buffer: Buffer | null, validate: ValidateFunction<T>): Parsed<T> {
  const r = parseRecord(buffer, validate);
  return r.ok ? r : { ok: false, error: r.error };
}

/**
 * webhooks.subscriptions: a stored (sealed) webhook document. A filter that does not compile makes the
 * document invalid (the table skips and counts it like any other), so fan-out never meets one.
 */
export function parseStoredWebhook(buffer: Buffer | null): Parsed<StoredWebhook> {
  const parsed = parseValidated(buffer, storedWebhookValidator);
  if (!parsed.ok || parsed.value.filter === undefined || parsed.value.filter === null) return parsed;
  const compiled = compileFilter(parsed.value.filter);
  if (compiled.ok) return parsed;
  return { ok: false, error: `${filterField(compiled.path)} ${compiled.message}`.slice(0, 200) };
}
