// First: fixes KafkaJS before any module of this package loads it.
import './kafkajs-fixes.ts';
import './kafkajs-encode.ts';
// Snappy, LZ4 and zstd batches (KafkaJS reads only gzip): before any consumer fetches.
import './compression.ts';

export type { Admin, Kafka, Message } from 'kafkajs';
export {
  connectAdmin,
  createKafka,
  createProducer,
  KafkaUnavailableError,
  partitionForKey,
} from './client.ts';
export {
  HEADERS,
  IDLE_FETCH_WAIT_MS,
  type TopicCatalog,
  type TopicSpec,
  topicCatalog,
} from './definitions.ts';
export { InFlightBytes } from './in-flight-bytes.ts';
export { releasedFrames } from './kafkajs-encode.ts';
export { type KafkaRecord, LogReader } from './log-reader.ts';
export { lastOffsets, OffsetsClient, topicOffsets, waitForOffsets } from './offsets.ts';
export { PartitionConsumer, type RecordContext } from './partition-consumer.ts';
export {
  type OutputRecord,
  type PartitionControl,
  type PartitionHandler,
  type PartitionTx,
  transactionalIdFor,
  valueBytes,
} from './partition-worker.ts';
export { ConfigResourceTypes, provisionTopics } from './provision.ts';
export { releaseBytes } from './release-bytes.ts';
export { SerialProducer, serialProducer } from './serial-producer.ts';
export { type RecordSkipper, recordSkipper, SKIPPED_RECORDS_METRIC } from './skipped-records.ts';
export {
  consumerRebuilds,
  consumerStates,
  type GroupMemberSettings,
  SupervisedConsumer,
  stopAllConsumers,
} from './supervised-consumer.ts';
export { takeOverOffsets } from './takeover.ts';
export { readTopics } from './topic-reader.ts';
export { TransactionalRunner, type TransactionalRunnerOptions } from './transactional-runner.ts';
