/**
 * One-shot provisioning: makes the broker match the topic catalog (create, raise partitions, reconcile
 * configs) and registers the email event schema with BACKWARD compatibility. Idempotent; the k8s Job
 * runs it before the services, and `npm start` runs it first. Exit 0 on success, 1 when Kafka or the
 * registry cannot be reached, 2 on bad configuration.
 */
import { brokerList, ConfigError, loadConfig } from '@hookpost/config';
import { createRegistry, emailEventSchema, registerSchema, valueSubject } from '@hookpost/events';
import {
  connectAdmin,
  createKafka,
  KafkaUnavailableError,
  provisionTopics,
  topicCatalog,
} from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { type ProvisionConfig, schema } from './config.ts';

let config: ProvisionConfig;
try {
  config = loadConfig<ProvisionConfig>(schema, { env: process.env });
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`provision: ${error.message}\n`);
  process.exit(2);
}

const logger = createLogger({ name: 'provision', level: config.log.level });
const brokers = brokerList(config.kafka.brokers);
const kafka = createKafka({ brokers, clientId: `${config.kafka.clientId}-provision`, logger });
const catalog = topicCatalog({
  prefix: config.topics.prefix,
  partitions: config.topics.partitions,
  retryTiers: config.retry.tiers
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean),
});

try {
  const admin = await connectAdmin(kafka, brokers, config.kafka.connectTimeoutMs);
  try {
    const result = await provisionTopics(admin, catalog.all(), logger);
    const registry = createRegistry(config.registry.url);
    const subject = valueSubject(catalog.topics.events.name);
    const id = await registerSchema(registry, config.registry.url, subject, emailEventSchema());
    console.log(
      `provision: topics created ${result.created.length}, updated ${result.updated.length}, unchanged ${result.unchanged.length}; schema ${subject} id ${id}`,
    );
  } finally {
    await admin.disconnect();
  }
} catch (error) {
  const message =
    error instanceof KafkaUnavailableError ? error.message : `failed: ${(error as Error).message}`;
  logger.error({ err: error }, message);
  process.stderr.write(`provision: ${message}\n`);
  process.exit(1);
}
