import { SecretBox } from '@hookpost/contracts';

/** Validates a SecretBox key spec without ever echoing it (the key is sensitive). */
function secretBoxSpec(value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '')
    throw new Error('must be set: comma separated "<id>:<base64 of 32 bytes>" keys');
  new SecretBox(value);
}

/**
 * The config keys of every service that reads or writes subscriptions: one definition, so the key
 * name, its validation and its sensitivity cannot drift between services. Spread into a service's
 * convict schema as `subscriptions: subscriptionsSchema`.
 */
export const subscriptionsSchema = {
  encryptionKeys: {
    doc: 'Keys that open the sealed secrets in the subscriptions topic: "<id>:<base64 32 bytes>", comma separated, the first encrypts.',
    format: secretBoxSpec,
    default: '',
    env: 'SUBSCRIPTION_ENCRYPTION_KEYS',
    sensitive: true,
  },
} as const;

export interface SubscriptionsConfig {
  encryptionKeys: string;
}
