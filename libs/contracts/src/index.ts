export { openWebhook, SecretBox, type StoredWebhook, sealWebhook } from './crypto.ts';
export { deadLetterSource, type SourceMessage, stableDlqId } from './dead-letters.ts';
export {
  ATTEMPT_FIELDS,
  type AttemptOutcome,
  type AttemptRecord,
  BATCH_FIELDS,
  type BatchRecord,
  DEAD_LETTER_FIELDS,
  type DeadLetter,
  type DeadLetterReason,
  DISPATCH_FIELDS,
  type DispatchRecord,
  type OperationalNotice,
  type Parsed,
  parseJson,
  RETRY_FIELDS,
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
