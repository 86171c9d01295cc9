/**
 * The fate of an invalid record on a topic that is not a work topic (dead letters, attempts, operational
 * notices, the replay ledger): it is skipped, counted in `webhooks_records_skipped_total{topic,reason}` and
 * logged once with where it is (topic, partition, offset) and why, never with its bytes. The reader goes on
 * and its offset moves past it: such a record has nobody to go to (a dead letter of a dead letter would
 * loop), and stopping would stall the topic for good.
 */
import type { Logger } from '@hookpost/logger';
import { Counter, type Registry } from '@hookpost/metrics';

export const SKIPPED_RECORDS_METRIC = 'webhooks_records_skipped_total';

interface SkippedAt {
  topic: string;
  partition: number;
  offset: string;
}

export interface RecordSkipper {
  /** `reason` is a bounded code (a metric label); `error` a short description free of record contents. */
  skip(at: SkippedAt, reason: string, error: string): void;
}

export interface RecordSkipperOptions {
  logger: Logger;
  /** Absent where the process has no metrics registry (the dlq CLI): logged only. */
  registry?: Registry;
  /** Topic × reason series created at 0, so the first skip is an increase alerts see. */
  topics?: readonly string[];
  reasons?: readonly string[];
}

export function recordSkipper(options: RecordSkipperOptions): RecordSkipper {
  const counter = options.registry ? skippedCounter(options.registry) : undefined;
  for (const topic of options.topics ?? [])
    for (const reason of options.reasons ?? []) counter?.inc({ topic, reason }, 0);
  return {
    skip(at, reason, error) {
      counter?.inc({ topic: at.topic, reason });
      options.logger.warn(
        { topic: at.topic, partition: at.partition, offset: at.offset, reason, error },
        'invalid record skipped',
      );
    },
  };
}

/** One counter per registry, whichever component asks first (several readers share a process). */
function skippedCounter(registry: Registry): Counter<'topic' | 'reason'> {
  const existing = registry.getSingleMetric(SKIPPED_RECORDS_METRIC);
  if (existing) return existing as Counter<'topic' | 'reason'>;
  return new Counter({
    name: SKIPPED_RECORDS_METRIC,
    help: 'Invalid records skipped on topics that are not work topics (dead letters, attempts, notices, replay ledger), by topic and reason (empty, not_json, invalid)',
    labelNames: ['topic', 'reason'],
    registers: [registry],
  });
}
