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
    doc: 'AES-256-GCM keys that seal the secrets of subscriptions (signing secrets, auth credentials) in the subscriptions topic. Comma separated "<id>:<key>" entries, <id> a short name (e.g. k1) stored beside every sealed value, <key> the base64 of 32 random bytes. The first entry seals new secrets; every entry opens, so to rotate put the new key first and keep an old one while records sealed with it remain in the topic. Every service that reads subscriptions needs the same list. Generate one with SecretBox.generateSpec("k1") (libs/contracts) or `echo "k1:$(openssl rand -base64 32)"`.',
    format: secretBoxSpec,
    default: '',
    env: 'SUBSCRIPTION_ENCRYPTION_KEYS',
    sensitive: true,
  },
} as const;

export interface SubscriptionsConfig {
  encryptionKeys: string;
}
