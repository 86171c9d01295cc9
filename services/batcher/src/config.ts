/** Batcher configuration: the common keys plus windows, limits, consumer group and transactions. */
import { type CommonConfig, commonSchema } from '@hookpost/config';
import { type SubscriptionsConfig, subscriptionsSchema } from '@hookpost/subscriptions';
import { type TracingConfig, tracingSchema } from '@hookpost/tracing';

export const schema = {
  ...commonSchema,
  subscriptions: subscriptionsSchema,
  tracing: tracingSchema,
  batch: {
    windowMs: {
      doc: "Longest a batch stays open: caps each webhook's batch.window_ms (a batch closes at its own webhook's window, or at once when full). Also the basis of the transaction timeout.",
      format: 'nat',
      default: 30_000,
      env: 'BATCH_WINDOW_MS',
    },
    maxBytes: {
      doc: 'Cap on a batch body in bytes; a batch that would pass it is closed and another begins.',
      format: 'nat',
      default: 1024 * 1024,
      env: 'BATCH_MAX_BYTES',
    },
    maxBufferedBytes: {
      doc: "Bytes held in open batches across this instance's partitions above which the partition whose fetch passed it closes its own largest batches, until the instance holds 3/4 of this or the partition holds none, and commits; bounds the instance's memory when many webhooks each stay below their max.",
      format: 'nat',
      default: 32 * 1024 * 1024,
      env: 'BATCH_MAX_BUFFERED_BYTES',
    },
  },
  batcher: {
    input: {
      doc: "What the batcher reads. events (the default): email.events itself, matched here with the fan-out's own step, so no fan-out runs and each event crosses the broker once less (in the bench about 40 % less CPU per event at max_events 500, broker included); its batches are per input partition, so they fill as with dispatch when the events are keyed by domain id (the topic's contract). Consumer group <BATCHER_GROUP_ID>.events, watermarks on webhooks.event-watermarks; needs SCHEMA_REGISTRY_URL. It still reads webhooks.dispatch too, where the DLQ CLI replays suspended letters. dispatch: only the fan-out's records on webhooks.dispatch, the two-stage deployment (run the fan-out; scale matching apart from batching).",
      format: ['dispatch', 'events'],
      default: 'events',
      env: 'BATCHER_INPUT',
    },
    fanoutGroupId: {
      doc: "With BATCHER_INPUT=events: the fan-out's consumer group (its FANOUT_GROUP_ID; the topic prefix is prepended). The batcher refuses to start while that group has members (both would batch every event), and at start moves its own group's committed offsets of email.events up to that group's where those are further on (the fan-out ran last), so switching from the fan-out neither repeats nor skips events; the fan-out does the same the other way (FANOUT_BATCHER_EVENTS_GROUP_ID).",
      format: String,
      default: 'hookpost-fanout',
      env: 'BATCHER_FANOUT_GROUP_ID',
    },
    groupId: {
      doc: 'Consumer group of the batcher (the topic prefix is prepended).',
      format: String,
      default: 'hookpost-batcher',
      env: 'BATCHER_GROUP_ID',
    },
    transactionalIdPrefix: {
      doc: 'Service id in the transactional ids (<id>.<topic>.<partition>); equal on every instance so a new owner fences the old.',
      format: String,
      default: 'hookpost-batcher',
      env: 'BATCHER_TRANSACTIONAL_ID_PREFIX',
    },
    transactionMarginMs: {
      doc: 'Transaction timeout beyond the window (a transaction commits within ~100 ms of its first batch; the margin covers a stalled broker).',
      format: 'nat',
      default: 60_000,
      env: 'BATCHER_TRANSACTION_MARGIN_MS',
    },
    sessionTimeoutMs: {
      doc: 'Consumer group session timeout: how long a crashed instance keeps its partitions before the group moves them (a replacement of a SIGKILLed pod waits about this long to get them). Heartbeats go every 3 s at most.',
      format: 'nat',
      default: 10_000,
      env: 'BATCHER_SESSION_TIMEOUT_MS',
    },
    partitionsConcurrently: {
      doc: 'Input partitions processed at the same time by one instance.',
      format: 'nat',
      default: 4,
      env: 'BATCHER_PARTITIONS_CONCURRENTLY',
    },
  },
};

export interface BatcherConfig extends CommonConfig {
  subscriptions: SubscriptionsConfig;
  tracing: TracingConfig;
  batch: { windowMs: number; maxBytes: number; maxBufferedBytes: number };
  batcher: {
    input: string;
    fanoutGroupId: string;
    groupId: string;
    transactionalIdPrefix: string;
    transactionMarginMs: number;
    partitionsConcurrently: number;
    sessionTimeoutMs: number;
  };
}
