import { randomBytes } from 'node:crypto';
import { createRegistry, type SchemaRegistry } from '@hookpost/events';
import {
  type Admin,
  connectAdmin,
  createKafka,
  type Kafka,
  type TopicCatalog,
  topicCatalog,
} from '@hookpost/kafka';
import { createLogger, type Logger } from '@hookpost/logger';
import { inject } from 'vitest';

export interface TestEnv {
  brokers: string;
  registryUrl: string;
  kafka: Kafka;
  admin: Admin;
  registry: SchemaRegistry;
  logger: Logger;
  /** A topic prefix no other test uses. */
  prefix: string;
  catalog: TopicCatalog;
  close(): Promise<void>;
}

export function uniq(label = 't'): string {
  return `${label}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Clients for the real broker and registry that global-setup provides; each test file gets its own topics. */
export async function testEnv(
  options: { partitions?: number; retryTiers?: string[] } = {},
): Promise<TestEnv> {
  const brokers = inject('kafkaBrokers');
  const registryUrl = inject('registryUrl');
  const logger = createLogger({ name: 'test', level: process.env.LOG_LEVEL ?? 'error' });
  const kafka = createKafka({ brokers: brokers.split(','), clientId: uniq('test'), logger });
  const admin = await connectAdmin(kafka, brokers.split(','), 20_000);
  const prefix = `${uniq()}.`;
  const catalog = topicCatalog({
    prefix,
    partitions: options.partitions ?? 3,
    retryTiers: options.retryTiers,
  });
  return {
    brokers,
    registryUrl,
    kafka,
    admin,
    registry: createRegistry(registryUrl),
    logger,
    prefix,
    catalog,
    close: async () => {
      await admin.disconnect();
    },
  };
}

/**
 * Polls `check` until it returns a truthy value or the timeout passes. Tests wait for a condition,
 * never for a fixed time; the short poll interval only bounds how late the condition is noticed.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  options: { timeoutMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${options.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
