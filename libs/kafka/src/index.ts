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
export { filterAbortedMessages } from './kafkajs-fixes.ts';
export {
  type BatchContext,
  type BatchDecision,
  isFencedError,
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
export { SerialProducer } from './serial-producer.ts';
export {
  type ConsumerState,
  consumerStates,
  onSkippedOffsets,
  SupervisedConsumer,
  type SupervisedConsumerOptions,
  stopAllConsumers,
} from './supervised-consumer.ts';
export { TransactionalRunner, type TransactionalRunnerOptions } from './transactional-runner.ts';
