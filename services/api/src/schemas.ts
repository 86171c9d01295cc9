/**
 * JSON schemas of the routes: fastify validates requests with them and @fastify/swagger publishes
 * the same objects as the OpenAPI document, so the documentation cannot drift from the validation.
 * Bodies reject unknown fields (additionalProperties: false); ajv runs without coercion or defaults.
 */
import { LIMITS } from '@hookpost/contracts';
import { EVENT_TYPES } from '@hookpost/events';
import { filterInput, filterOutput } from './filter-input.ts';

const eventType = { type: 'string', enum: [...EVENT_TYPES], description: 'An event type of the catalog.' };

const authInput = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['type'],
  description:
    'How hookpost authenticates to the endpoint: basic auth (username, password) or a token query parameter (param, value). null removes it. Passwords and tokens are never returned.',
  properties: {
    type: { type: 'string', enum: ['basic', 'token'] },
    username: { type: 'string', minLength: 1, maxLength: 191 },
    password: { type: 'string', minLength: 1, maxLength: 512 },
    param: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_.-]+$' },
    value: { type: 'string', minLength: 1, maxLength: 512 },
  },
};

const common = {
  url: {
    type: 'string',
    minLength: 1,
    maxLength: 2048,
    description: 'http(s) endpoint; private targets are refused.',
  },
  name: { type: 'string', minLength: 1, maxLength: LIMITS.nameMax },
  events: { type: 'array', minItems: 1, maxItems: EVENT_TYPES.length, uniqueItems: true, items: eventType },
  enabled: { type: 'boolean' },
  format: { type: 'string', enum: ['json', 'jsonl'], description: 'JSON array (default) or JSON Lines.' },
  batch: {
    type: 'object',
    additionalProperties: false,
    properties: {
      max_events: { type: 'integer', minimum: 1, maximum: LIMITS.maxEventsPerBatch },
      window_seconds: {
        type: 'integer',
        minimum: LIMITS.minWindowMs / 1000,
        maximum: LIMITS.maxWindowMs / 1000,
      },
    },
  },
  timeout_seconds: {
    type: 'integer',
    minimum: LIMITS.minTimeoutMs / 1000,
    maximum: LIMITS.maxTimeoutMs / 1000,
  },
  auth: authInput,
  filter: filterInput,
  rate_limit: {
    type: ['object', 'null'],
    additionalProperties: false,
    required: ['per_second'],
    properties: {
      per_second: {
        type: 'number',
        minimum: LIMITS.minRatePerSecond,
        maximum: LIMITS.maxRatePerSecond,
        description: `Requests (batches) per second at most, ${LIMITS.minRatePerSecond} to ${LIMITS.maxRatePerSecond}; decimals allowed (0.5: one every 2 s). Bursts of up to floor(per_second) after an idle second. A 429 with Retry-After from the endpoint holds deliveries until then and halves the rate for a while.`,
      },
    },
    description: 'Per-webhook rate limit; null removes it. Deliveries beyond it wait, none is dropped.',
  },
};

export const createBody = {
  type: 'object',
  additionalProperties: false,
  required: ['url', 'name', 'events', 'domain_id'],
  properties: {
    ...common,
    domain_id: { type: 'string', minLength: 1, maxLength: 191 },
    account_id: {
      type: 'string',
      minLength: 1,
      maxLength: 191,
      description: 'Owner account; defaults to the domain id.',
    },
  },
};

export const updateBody = { type: 'object', additionalProperties: false, properties: common };

export const testBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    event_type: { ...eventType, description: 'Defaults to the first event the webhook subscribes to.' },
  },
};

export const resendBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    date_from: { type: 'integer', minimum: 0, description: 'Unix seconds, inclusive (dead_at).' },
    date_to: { type: 'integer', minimum: 0, description: 'Unix seconds, exclusive.' },
    reasons: {
      type: 'array',
      uniqueItems: true,
      items: { type: 'string', enum: ['exhausted', 'suspended', 'gone', 'refused'] },
    },
    dry_run: { type: 'boolean' },
    resume: { type: 'boolean', description: 'Resume a suspended webhook first instead of answering 409.' },
    force: { type: 'boolean', description: 'Replay dead letters that were already replayed.' },
    rate_per_sec: {
      type: 'integer',
      minimum: 1,
      maximum: 100_000,
      description: 'Dead letters re-enqueued per second at most (absent: as fast as the broker takes them).',
    },
  },
};

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
};

const page = { type: 'string', pattern: '^[1-9][0-9]{0,5}$', description: 'Page number, from 1.' };
const limit = {
  type: 'string',
  pattern: '^([1-9]|[1-9][0-9]|100)$',
  description: 'Items per page, 1–100 (default 25).',
};
const unixSeconds = { type: 'string', pattern: '^[0-9]{1,12}$' };

export const listQuery = {
  type: 'object',
  required: ['domain_id'],
  properties: { domain_id: { type: 'string', minLength: 1, maxLength: 191 }, page, limit },
};

export const attemptsQuery = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['2xx', '3xx', '4xx', '5xx', 'error'] },
    date_from: { ...unixSeconds, description: 'Unix seconds, inclusive.' },
    date_to: { ...unixSeconds, description: 'Unix seconds, exclusive.' },
    page,
    limit,
  },
};

const nullableString = { type: ['string', 'null'] };

export const webhookObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    url: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
    name: { type: 'string' },
    enabled: { type: 'boolean' },
    editable: { type: 'boolean' },
    domain_id: { type: 'string' },
    account_id: { type: 'string' },
    secret: { ...nullableString, description: 'The newest signing secret (whsec_…).' },
    secrets: {
      type: 'array',
      description:
        'Every secret that signs now, newest first; an old one carries its expiry during a rotation.',
      items: {
        type: 'object',
        properties: { secret: { type: 'string' }, created_at: nullableString, expires_at: nullableString },
      },
    },
    status: { type: 'string', enum: ['active', 'suspended'] },
    status_reason: nullableString,
    status_changed_at: {
      ...nullableString,
      description:
        'When the status last changed (suspended, resumed, created); null for a webhook whose status has not changed since before the field was recorded.',
    },
    format: { type: 'string' },
    batch: {
      type: 'object',
      properties: { max_events: { type: 'integer' }, window_seconds: { type: 'number' } },
    },
    timeout_seconds: { type: 'number' },
    auth: {
      type: ['object', 'null'],
      properties: { type: { type: 'string' }, username: { type: 'string' }, param: { type: 'string' } },
    },
    filter: filterOutput,
    circuit: {
      type: 'object',
      description:
        "The webhook's circuit breaker (GET of one webhook only), as recorded by its newest attempt in the history: closed; open (no requests until probe_at); half_open (the next attempt is the probe). as_of: that attempt's time (null: no attempt recorded one). Each delivery process keeps its own circuit; this is the one that made the newest attempt.",
      properties: {
        state: { type: 'string', enum: ['closed', 'open', 'half_open'] },
        failures: { type: 'integer', description: 'Consecutive failed attempts counted' },
        probe_at: { ...nullableString, description: 'When an open circuit lets its next probe through' },
        as_of: nullableString,
      },
    },
    rate_limit: {
      type: ['object', 'null'],
      properties: { per_second: { type: 'number' } },
      description: 'Requests (batches) per second at most; null: none of its own.',
    },
    version: { type: 'integer' },
    created_at: nullableString,
    updated_at: nullableString,
  },
};

export const links = {
  type: 'object',
  properties: { first: nullableString, last: nullableString, prev: nullableString, next: nullableString },
};

export const meta = {
  type: 'object',
  properties: {
    current_page: { type: 'integer' },
    from: { type: ['integer', 'null'] },
    last_page: { type: 'integer' },
    path: { type: 'string' },
    per_page: { type: 'integer' },
    to: { type: ['integer', 'null'] },
    total: { type: 'integer' },
  },
};

export const errorBody = {
  type: 'object',
  required: ['message'],
  description: 'MailerSend-shaped error: a message, and for invalid fields the messages per field.',
  properties: {
    message: { type: 'string' },
    errors: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
  },
};

export const attemptObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    batch_id: { type: 'string' },
    attempt: { type: 'integer' },
    tier: { type: 'string' },
    created_at: { type: 'string' },
    status: { type: ['integer', 'null'] },
    status_class: { type: 'string' },
    latency_ms: { type: 'integer' },
    outcome: { type: 'string' },
    error: nullableString,
    response_excerpt: nullableString,
    event_count: { type: 'integer' },
  },
};

export const testResult = {
  type: 'object',
  properties: {
    batch_id: { type: 'string' },
    event_type: { type: 'string' },
    delivered: { type: 'boolean' },
    kind: { type: 'string' },
    status: { type: ['integer', 'null'] },
    latency_ms: { type: 'integer' },
    error: nullableString,
    response_excerpt: nullableString,
  },
};

/** What the API says of one dead letter wherever it lists them. */
export const deadLetterFields = {
  dlq_id: { type: 'string' },
  reason: { type: 'string' },
  dead_at: { type: 'string' },
  events: { type: 'integer', description: 'Events it holds (batch event ids or dispatch records).' },
};

export const resendResult = {
  type: 'object',
  properties: {
    dry_run: { type: 'boolean' },
    matched: { type: 'integer' },
    replayed: { type: 'integer' },
    events: { type: 'integer' },
    skipped: { type: 'object', additionalProperties: { type: 'integer' } },
    resumed: { type: 'array', items: { type: 'string' } },
    items: {
      type: 'array',
      description:
        'The first 500 matched dead letters and what happens to each: batches / dispatch (re-enqueued there) or why skipped.',
      items: {
        type: 'object',
        properties: { ...deadLetterFields, outcome: { type: 'string' } },
      },
    },
  },
};

export const data = (schema: object) => ({ type: 'object', properties: { data: schema } });
/** A route's own answers; the app adds the error statuses every route shares (`errorResponses`). */
export const responses = (ok: Record<number, unknown>) => ({ ...ok });

const error = (description: string) => ({ ...errorBody, description });
/** Methods whose body fastify reads (a GET's or HEAD's body is ignored). */
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Every error status a route can answer, from what the app's hooks and error handler do. */
export function errorResponses(method: string, route: { url: string; public: boolean; write: boolean }) {
  return {
    400: error('Malformed request: a path or query that does not decode, or a body that is not JSON.'),
    ...(route.public
      ? {}
      : {
          401: error('Missing or unknown bearer token.'),
          ...(route.url.includes(':')
            ? { 404: error('No such webhook, or not in the domains of the token.') }
            : {}),
        }),
    ...(route.write
      ? {
          403: error('The token may read but not change webhooks.'),
          503: error('The webhook store (Kafka) is unavailable; retry after Retry-After seconds.'),
        }
      : {}),
    ...(WITH_BODY.has(method)
      ? {
          413: error('The body is larger than the configured limit.'),
          415: error('The body is not application/json.'),
        }
      : {}),
    414: error('The request target is longer than the limit.'),
    422: error('A field is invalid; `errors` names each one.'),
    500: error('Internal error.'),
  };
}
