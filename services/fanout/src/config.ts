/** Fan-out configuration: the common keys plus its consumer group, transactions and subscription key. */
import { type CommonConfig, commonSchema } from '@hookpost/config';
import { type SubscriptionsConfig, subscriptionsSchema } from '@hookpost/subscriptions';
import { type TracingConfig, tracingSchema } from '@hookpost/tracing';

export const schema = {
  ...commonSchema,
  subscriptions: subscriptionsSchema,
  tracing: tracingSchema,
  fanout: {
    groupId: {
      doc: 'Consumer group of the fan-out (the topic prefix is prepended).',
      format: String,
      default: 'hookpost-fanout',
      env: 'FANOUT_GROUP_ID',
    },
    transactionalIdPrefix: {
      doc: 'Service id in the transactional ids (<id>.<topic>.<partition>); equal on every instance so a new owner fences the old.',
      format: String,
      default: 'hookpost-fanout',
      env: 'FANOUT_TRANSACTIONAL_ID_PREFIX',
    },
    transactionTimeoutMs: {
      doc: 'Kafka transaction timeout; a fan-out transaction lasts one fetched batch.',
      format: 'nat',
      default: 60_000,
      env: 'FANOUT_TRANSACTION_TIMEOUT_MS',
    },
    sessionTimeoutMs: {
      doc: 'Consumer group session timeout: how long a crashed instance keeps its partitions before the group moves them (a replacement of a SIGKILLed pod waits about this long to get them). Heartbeats go every 3 s at most.',
      format: 'nat',
      default: 10_000,
      env: 'FANOUT_SESSION_TIMEOUT_MS',
    },
    partitionsConcurrently: {
      doc: 'Input partitions processed at the same time by one instance.',
      format: 'nat',
      default: 4,
      env: 'FANOUT_PARTITIONS_CONCURRENTLY',
    },
    singleBatches: {
      doc: "Webhooks at max_events 1 get each event's batch from the fan-out, on webhooks.batches in the same transaction, instead of through webhooks.dispatch and the batcher (which would close it as soon as it opened). false: every webhook through the batcher.",
      format: Boolean,
      default: true,
      env: 'FANOUT_SINGLE_BATCHES',
    },
    batcherEventsGroupId: {
      doc: "The consumer group of a batcher reading email.events itself (BATCHER_INPUT=events, the batcher's default: its BATCHER_GROUP_ID plus .events; the topic prefix is prepended). The fan-out refuses to start while that group has members, as both would batch every event: run the fan-out only beside batchers at BATCHER_INPUT=dispatch.",
      format: String,
      default: 'hookpost-batcher.events',
      env: 'FANOUT_BATCHER_EVENTS_GROUP_ID',
    },
  },
};

export interface FanoutConfig extends CommonConfig {
  subscriptions: SubscriptionsConfig;
  tracing: TracingConfig;
  fanout: {
    groupId: string;
    transactionalIdPrefix: string;
    transactionTimeoutMs: number;
    partitionsConcurrently: number;
    sessionTimeoutMs: number;
    singleBatches: boolean;
    batcherEventsGroupId: string;
  };
}
