// First: fixes KafkaJS before any module of this package loads it.
import './kafkajs-fixes.ts';

export type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage, Message, Producer } from 'kafkajs';
export {
  connectAdmin,
  createKafka,
  createProducer,
  type KafkaClientOptions,
  KafkaUnavailableError,
  partitionForKey,
} from './client.ts';
export {
  type CatalogOptions,
  HEADERS,
  TOPIC_KEYS,
  type TopicCatalog,
  type TopicKey,
  type TopicSpec,
  topicCatalog,
} from './definitions.ts';
export {
  classifyKafkaError,
  isFencedError,
  type KafkaErrorKind,
  type RetryOptions,
  retryTransient,
} from './errors.ts';
export { filterAbortedMessages } from './kafkajs-fixes.ts';
export { lastOffsets, type PartitionOffsets, topicOffsets, waitForOffsets } from './offsets.ts';
export {
  InFlightBytes,
  PartitionConsumer,
  type PartitionConsumerMetrics,
  type PartitionConsumerOptions,
  type RecordContext,
} from './partition-consumer.ts';
export {
  type BatchContext,
  type BatchDecision,
  type OutputRecord,
  type PartitionControl,
  type PartitionHandler,
  type PartitionTx,
  PartitionWorker,
  type TxProducer,
  transactionalIdFor,
  type WorkerHooks,
} from './partition-worker.ts';
export { ConfigResourceTypes, type ProvisionResult, provisionTopics } from './provision.ts';
export { SerialProducer, serialProducer } from './serial-producer.ts';
export {
  type RecordSkipper,
  type RecordSkipperOptions,
  recordSkipper,
  SKIPPED_RECORDS_METRIC,
  type SkippedAt,
} from './skipped-records.ts';
export {
  type ConsumerState,
  consumerStates,
  onSkippedOffsets,
  SupervisedConsumer,
  type SupervisedConsumerOptions,
  stopAllConsumers,
} from './supervised-consumer.ts';
export { type ReadRecord, readTopics, type TopicReader, type TopicReaderOptions } from './topic-reader.ts';
export { TransactionalRunner, type TransactionalRunnerOptions } from './transactional-runner.ts';
