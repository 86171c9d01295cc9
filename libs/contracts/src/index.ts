export { batchBodyBytes, batchIdOf, framedBatchRecord, isFramedBatch } from './batch-wire.ts';
export { openWebhook, SecretBox, sealWebhook } from './crypto.ts';
export {
  DEAD_LETTER_HEADERS,
  type DeadLetterInput,
  type DeadLetterMessage,
  deadLetterHeaders,
  deadLetterMessage,
  deadLetterSource,
} from './dead-letters.ts';
export {
  eventDispatchText,
  payloadHead,
  payloadMiddle,
  payloadText,
} from './dispatch-text.ts';
export { framedDispatchRecord, isFramedDispatch } from './dispatch-wire.ts';
export {
  compileFilter,
  FILTER_LIMITS,
  filterField,
  filterPredicate,
  filterSubject,
} from './filter.ts';
export {
  type EventDispatchInput,
  parseAttemptRecord,
  parseBatchRecord,
  parseDeadLetter,
  parseDispatchInput,
  parseDispatchRecord,
  parseLedgerEntry,
  parseOperationalNotice,
  parseRetryRecord,
} from './record-schemas.ts';
export {
  type AttemptCircuit,
  type AttemptOutcome,
  type AttemptRecord,
  type BatchRecord,
  DEAD_LETTER_REASONS,
  type DeadLetter,
  type DeadLetterReason,
  type DispatchRecord,
  type DispatchTarget,
  type EventDispatchRecord,
  type LedgerEntry,
  type OperationalNotice,
  PARSE_FAILURES,
  type RetryRecord,
} from './records.ts';
export { parseStoredWebhook } from './schemas.ts';
export { poisonKey, watermarkOffset, webhookKey } from './watermark-keys.ts';
export {
  activeSecrets,
  LIMITS,
  maxEventsOf,
  type PayloadFormat,
  type SigningSecret,
  type Webhook,
  type WebhookAuth,
  type WebhookFilter,
} from './webhook.ts';
export { WEBHOOK_VERSION_HEADER, webhookVersionHeader, webhookVersionOf } from './webhook-version.ts';
