/** Configuration of the dead-letter CLI: the Kafka, topic and log keys plus the subscription keys replay needs. */
import { commonSchema } from '@hookpost/config';

export const schema = {
  kafka: commonSchema.kafka,
  topics: commonSchema.topics,
  // The CLI's own messages say what failed; client-library chatter only when asked for (LOG_LEVEL).
  log: { level: { ...commonSchema.log.level, default: 'fatal' } },
  subscriptions: {
    encryptionKeys: {
      doc: 'Keys of the subscriptions topic (needed by replay to check and resume webhooks).',
      format: String,
      default: '',
      env: 'SUBSCRIPTION_ENCRYPTION_KEYS',
      sensitive: true,
    },
  },
};

export interface CliConfig {
  kafka: { brokers: string; clientId: string; connectTimeoutMs: number };
  topics: { prefix: string; partitions: number };
  log: { level: string };
  subscriptions: { encryptionKeys: string };
}
