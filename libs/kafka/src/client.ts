import type { Logger } from '@hookpost/logger';
import {
  type Admin,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  Partitioners,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  logger: Logger;
  /** Per-connection timeout; start-up as a whole is bounded by connectTimeoutMs in connectAdmin. */
  connectionTimeoutMs?: number;
  retry?: KafkaConfig['retry'];
}

export class KafkaUnavailableError extends Error {
  readonly code = 'KAFKA_UNAVAILABLE';
  readonly retryable = true;
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * Warnings we act on by design rather than by configuration: the partitioner notice (we always pass
 * the Java-compatible partitioner explicitly) and the idempotent-retries notice (retries are bounded
 * on purpose so a producer hears about an outage; event ids let receivers drop the rare duplicate).
 */
const QUIET = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

/** KafkaJS behind one door: the rest of the code never constructs a KafkaJS client itself. */
export function createKafka(options: KafkaClientOptions): Kafka {
  const log = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: 30000,
    retry: options.retry ?? { initialRetryTime: 300, retries: 8 },
    logLevel: logLevel.WARN,
    logCreator:
      () =>
      ({ namespace, level, log: entry }: LogEntry) => {
        const { message, timestamp: _t, logger: _l, ...rest } = entry;
        if (QUIET.has(message)) return;
        // KafkaJS logs every error response at ERROR, including the ones it retries (coordinator
        // loading, concurrent transactions). A failure that matters reaches the caller as an
        // exception and is logged there; the raw responses are debug detail.
        const lvl =
          namespace === 'Connection' && message.startsWith('Response ') ? 'debug' : (LEVELS[level] ?? 'info');
        log[lvl](rest, message);
      },
  });
}

/**
 * Connects an admin client, failing with KafkaUnavailableError after `timeoutMs` instead of letting
 * KafkaJS retry for minutes: an operator who starts a service against a dead broker hears so at once.
 */
export async function connectAdmin(kafka: Kafka, brokers: string[], timeoutMs: number): Promise<Admin> {
  const admin = kafka.admin({ retry: { retries: 2, initialRetryTime: 200 } });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KafkaUnavailableError(`cannot reach Kafka at ${brokers.join(',')} within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([admin.connect().then(() => admin.describeCluster()), timeout]);
    return admin;
  } catch (error) {
    await admin.disconnect().catch(() => {});
    if (error instanceof KafkaUnavailableError) throw error;
    throw new KafkaUnavailableError(
      `cannot reach Kafka at ${brokers.join(',')}: ${(error as Error).message}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Producers always use the Java client's murmur2 partitioner, so a key lands on the same partition
 * whichever language produced it, and never create topics by accident.
 */
export function createProducer(
  kafka: Kafka,
  config: Omit<ProducerConfig, 'createPartitioner'> = {},
): Producer {
  return kafka.producer({
    allowAutoTopicCreation: false,
    ...config,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
}

/** The partition a producer from createProducer sends `key` to, for a topic of `partitions` partitions. */
export function partitionForKey(key: string, partitions: number): number {
  const partitioner = Partitioners.DefaultPartitioner();
  return partitioner({
    topic: '',
    partitionMetadata: Array.from({ length: partitions }, (_, i) => ({ partitionId: i, leader: 0 }) as never),
    message: { key, value: null },
  });
}
