/**
 * The one place that says what a Kafka error means for the caller, as a closed list:
 * - `transient`: the cluster is moving (a leader or coordinator being elected or loading, a request
 *   timing out, a connection dropping, the previous transaction of the same id still finishing);
 *   the same call succeeds a moment later, so retry it with `retryTransient`.
 * - `fenced`: another producer took over this transactional id; this one must stop, never retry.
 * - `fatal`: everything else (bad config, authorisation, unknown API, a bug); retrying cannot help.
 *
 * KafkaJS wraps the broker's answer once its own retries are spent (KafkaJSNumberOfRetriesExceeded,
 * `cause` / `originalError`), so the whole chain is looked at: a fenced link wins, then a transient one.
 */
import kafkajs from 'kafkajs';
import { KafkaUnavailableError } from './client.ts';

// kafkajs is CommonJS: Node's ESM loader does not see these as named exports.
const {
  KafkaJSBrokerNotFound,
  KafkaJSConnectionError,
  KafkaJSMetadataNotLoaded,
  KafkaJSRequestTimeoutError,
} = kafkajs;

export type KafkaErrorKind = 'transient' | 'fenced' | 'fatal';

/** Broker error types (KafkaJS `type`, src/protocol/error.js) that pass by themselves. */
const TRANSIENT_TYPES = new Set([
  'LEADER_NOT_AVAILABLE',
  'NOT_LEADER_FOR_PARTITION',
  'PREFERRED_LEADER_NOT_AVAILABLE',
  'ELIGIBLE_LEADERS_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  // A topic created a moment ago, before every broker has its metadata.
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REPLICA_NOT_AVAILABLE',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'KAFKA_STORAGE_ERROR',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'REBALANCE_IN_PROGRESS',
  'CONCURRENT_TRANSACTIONS',
]);

const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED']);

/** Client-side failures that say "could not reach / hear the broker in time". */
const TRANSIENT_CLASSES = [
  KafkaJSConnectionError,
  KafkaJSRequestTimeoutError,
  KafkaJSBrokerNotFound,
  KafkaJSMetadataNotLoaded,
  KafkaUnavailableError,
];

function chain(error: unknown): unknown[] {
  const links: unknown[] = [];
  let e: unknown = error;
  for (let depth = 0; e && depth < 5; depth += 1) {
    links.push(e);
    const x = e as { originalError?: unknown; cause?: unknown };
    e = x.originalError ?? x.cause;
  }
  return links;
}

function linkKind(e: unknown): KafkaErrorKind {
  const x = e as { type?: unknown; message?: unknown };
  if (typeof x.type === 'string' && FENCED_TYPES.has(x.type)) return 'fenced';
  if (typeof x.message === 'string' && /fenced|old epoch/i.test(x.message)) return 'fenced';
  if (typeof x.type === 'string' && TRANSIENT_TYPES.has(x.type)) return 'transient';
  if (TRANSIENT_CLASSES.some((c) => e instanceof c)) return 'transient';
  return 'fatal';
}

export function classifyKafkaError(error: unknown): KafkaErrorKind {
  const kinds = chain(error).map(linkKind);
  if (kinds.includes('fenced')) return 'fenced';
  if (kinds.includes('transient')) return 'transient';
  return 'fatal';
}

/** Another producer owns this transactional id: stop, do not retry. */
export function isFencedError(error: unknown): boolean {
  return classifyKafkaError(error) === 'fenced';
}

export interface RetryOptions {
  /** Give up (rethrowing the last error) once this much time has passed. */
  timeoutMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Runs `work`, retrying it with capped exponential backoff while it fails with a transient error and
 * the deadline allows; a fenced or fatal error, or one past the deadline, is rethrown as it is.
 */
export async function retryTransient<T>(work: () => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { timeoutMs = 15_000, initialDelayMs = 100, maxDelayMs = 2_000 } = options;
  const deadline = Date.now() + timeoutMs;
  for (let delay = initialDelayMs; ; delay = Math.min(delay * 2, maxDelayMs)) {
    try {
      return await work();
    } catch (error) {
      if (classifyKafkaError(error) !== 'transient' || Date.now() + delay > deadline) throw error;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
