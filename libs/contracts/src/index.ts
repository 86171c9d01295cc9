export { openWebhook, SecretBox, type StoredWebhook, sealWebhook } from './crypto.ts';
export {
  DEAD_LETTER_HEADERS,
  type DeadLetterInput,
  type DeadLetterMessage,
  deadLetterHeaders,
  deadLetterMessage,
  deadLetterSource,
  type SourceMessage,
  stableDlqId,
} from './dead-letters.ts';
export { dispatchText } from './dispatch-text.ts';
export {
  attemptOutcomeSchema,
  attemptSchema,
  batchSchema,
  deadLetterSchema,
  dispatchSchema,
  ledgerEntrySchema,
  noticeSchema,
  parseAttemptRecord,
  parseBatchRecord,
  parseDeadLetter,
  parseDispatchRecord,
  parseLedgerEntry,
  parseOperationalNotice,
  parseRetryRecord,
  retrySchema,
} from './record-schemas.ts';
export {
  type AttemptOutcome,
  type AttemptRecord,
  type BatchRecord,
  DEAD_LETTER_REASONS,
  type DeadLetter,
  type DeadLetterReason,
  type DispatchRecord,
  type LedgerEntry,
  type OperationalNotice,
  PARSE_FAILURES,
  type Parsed,
  type ParsedRecord,
  type ParseFailure,
  type RetryRecord,
} from './records.ts';
export { parseStoredWebhook, storedWebhookSchema } from './schemas.ts';
export {
  activeSecrets,
  LIMITS,
  type PayloadFormat,
  type SigningSecret,
  type Webhook,
  type WebhookAuth,
  type WebhookStatus,
  wants,
} from './webhook.ts';
