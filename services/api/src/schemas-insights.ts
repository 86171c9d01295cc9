/** JSON schemas of the read-only figures the console shows: webhook stats, dead letters, the overview. */
import { attemptObject, deadLetterFields, resendResult } from './schemas.ts';

const nullableString = { type: ['string', 'null'] };
const nullableNumber = { type: ['number', 'null'] };

export const statsObject = {
  type: 'object',
  properties: {
    window_hours: { type: 'integer' },
    attempts: { type: 'integer', description: 'HTTP attempts in the window.' },
    delivered: { type: 'integer', description: 'Attempts the endpoint answered 2xx.' },
    success_rate: { ...nullableNumber, description: 'delivered / attempts, 0–1; null without attempts.' },
    p95_latency_ms: { ...nullableNumber, description: 'Nearest-rank 95th percentile of attempt latency.' },
    last_attempt: { anyOf: [attemptObject, { type: 'null' }], description: 'The newest attempt kept.' },
  },
};

export const deadLettersQuery = {
  type: 'object',
  properties: {
    limit: {
      type: 'string',
      pattern: '^([1-9]|[1-9][0-9]|[1-4][0-9]{2}|500)$',
      description: 'Newest dead letters listed, 1–500 (default 100); the counts cover all of them.',
    },
  },
};

export const deadLetterSummary = {
  type: 'object',
  properties: {
    total: { type: 'integer' },
    unreadable: {
      type: 'integer',
      description: 'DLQ records that are not dead-letter documents (all webhooks).',
    },
    by_reason: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          reason: { type: 'string' },
          count: { type: 'integer' },
          events: { type: 'integer' },
          oldest_at: { type: 'string' },
          newest_at: { type: 'string' },
        },
      },
    },
    letters: {
      type: 'array',
      description: 'Newest first.',
      items: {
        type: 'object',
        properties: {
          ...deadLetterFields,
          attempts: { type: 'integer' },
          batch_id: nullableString,
          error: nullableString,
          replayed_at: { ...nullableString, description: 'When a replay re-enqueued it; null if never.' },
        },
      },
    },
  },
};

export const overviewObject = {
  type: 'object',
  properties: {
    window_hours: { type: 'integer' },
    delivery: {
      type: 'object',
      properties: {
        attempts: { type: 'integer' },
        delivered: { type: 'integer' },
        success_rate: nullableNumber,
        p95_latency_ms: nullableNumber,
      },
    },
    stages: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          stage: { type: 'string' },
          group: { type: 'string' },
          topic: { type: 'string' },
          lag: { type: ['integer', 'null'], description: 'Records not yet committed by the group.' },
          note: nullableString,
        },
      },
    },
    webhooks: {
      type: 'object',
      properties: { total: { type: 'integer' }, suspended: { type: 'integer' } },
    },
    suspended: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          name: { type: 'string' },
          domain_id: { type: 'string' },
          reason: nullableString,
          since: {
            ...nullableString,
            description:
              'When it was suspended; for an older document, its last write (the suspension is no later).',
          },
          since_recorded: {
            type: 'boolean',
            description: 'false when the document predates status_changed_at and `since` is its last write.',
          },
        },
      },
    },
    dead_letters: {
      type: 'object',
      properties: {
        total: { type: 'integer' },
        last_hour: { type: 'integer' },
        last_24h: { type: 'integer' },
        by_reason: { type: 'object', additionalProperties: { type: 'integer' } },
      },
    },
    grafana_url: nullableString,
  },
};

export const replayJobParams = {
  type: 'object',
  required: ['id', 'job'],
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 64 },
    job: { type: 'string', minLength: 1, maxLength: 64, description: 'The id POST /replays answered.' },
  },
};

export const replayJobObject = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    webhook_id: { type: 'string' },
    state: {
      type: 'string',
      enum: ['reading', 'sending', 'done', 'failed'],
      description: 'reading: the DLQ and ledger are read; sending: dead letters are re-enqueued.',
    },
    done: { type: 'boolean', description: 'Finished (done or failed); nothing changes after.' },
    selected: { ...nullableNumber, description: 'Dead letters to re-enqueue; null while reading.' },
    sent: { type: 'integer', description: 'Dead letters re-enqueued so far.' },
    skipped: {
      ...nullableNumber,
      description: 'Matched but skipped (already replayed, …); null while reading.',
    },
    started_at: { type: 'string', format: 'date-time' },
    finished_at: { ...nullableString, format: 'date-time' },
    summary: { anyOf: [resendResult, { type: 'null' }], description: 'What /resend answers, once done.' },
    error: { ...nullableString, description: 'Why a failed job stopped.' },
  },
};
