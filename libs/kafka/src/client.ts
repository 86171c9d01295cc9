import type { Logger } from '@hookpost/logger';
import {
  type Admin,
  Kafka,
  type KafkaConfig,
  type LogEntry,
  logLevel,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import { JavaPartitioner, keyPartition } from './partitioner.ts';

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

/**
 * Broker answers KafkaJS retries and that recover by themselves: the transaction coordinator busy with
 * the previous transaction of the same id (CONCURRENT_TRANSACTIONS, after every restart of a
 * transactional worker), coordinators still loading or moving at broker start-up, and a consumer
 * the group coordinator dropped (its session expired: a handler slower than the session timeout, a
 * pause) that KafkaJS's runner re-joins at once. KafkaJS logs them at ERROR; at that level an alert on
 * error logs fires on every deploy. Matched by KafkaJS's message texts (src/protocol/error.js,
 * src/consumer/runner.js), the only thing its log entries carry. The re-join is matched by the runner's
 * whole line: an UNKNOWN_MEMBER_ID that crashes a consumer (KafkaJS does not retry it) stays an error.
 */
const TRANSIENT = [
  'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing',
  "The coordinator is loading and hence can't process requests for this group",
  'The group coordinator is not available',
  'This is not the correct coordinator for this group',
  'The coordinator is not aware of this member, re-joining the group',
];

/**
 * The level a KafkaJS log entry is written at. Every error response is logged by KafkaJS at ERROR,
 * including the ones it retries; a failure that matters reaches the caller as an exception and is
 * logged there, so raw `Connection` responses are debug detail and the transient answers above warn
 * (they say the cluster is busy, not that anything failed). Everything else keeps KafkaJS's level.
 */
export function kafkaLogLevel(
  namespace: string,
  level: number,
  entry: { message: string; error?: unknown },
): 'error' | 'warn' | 'info' | 'debug' {
  if (namespace === 'Connection' && entry.message.startsWith('Response ')) return 'debug';
  const mapped = LEVELS[level] ?? 'info';
  if (mapped !== 'error') return mapped;
  // KafkaJS follows every crash it recovers from with this line; the `Crash:` line before it carries the
  // cause and keeps the level the cause deserves.
  if (namespace === 'Consumer' && /^Restarting the consumer in \d+ms$/.test(entry.message)) return 'warn';
  const text = `${entry.message} ${typeof entry.error === 'string' ? entry.error : ''}`;
  return TRANSIENT.some((t) => text.includes(t)) ? 'warn' : 'error';
}

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
        const lvl = kafkaLogLevel(namespace, level, entry);
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
    createPartitioner: JavaPartitioner as unknown as ProducerConfig['createPartitioner'],
  });
}

/** The partition a producer from createProducer sends `key` to, for a topic of `partitions` partitions. */
export function partitionForKey(key: string, partitions: number): number {
  return keyPartition(key, partitions);
}
