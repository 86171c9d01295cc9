/** Dead letters the batcher writes: undecodable dispatch records and records of deleted webhooks. */
import { type DeadLetter, type DispatchRecord, deadLetterSource, stableDlqId } from '@hookpost/contracts';
import { HEADERS, type KafkaMessage } from '@hookpost/kafka';

export function deadLetter(
  reason: 'poison' | 'deleted',
  source: { topic: string; partition: number },
  message: KafkaMessage,
  record: DispatchRecord | null,
  error: string,
  now: number,
): DeadLetter {
  return {
    // Deterministic, so a replayed record yields the same id.
    dlq_id: stableDlqId(reason, source.topic, source.partition, message.offset),
    reason,
    webhook_id: record?.webhook_id ?? null,
    batch: null,
    dispatch: record ? [record] : null,
    attempts: [],
    error,
    dead_at: now,
    source: deadLetterSource(source.topic, source.partition, message, reason === 'poison'),
  };
}

export function letterHeaders(letter: DeadLetter): Record<string, string> {
  return {
    [HEADERS.reason]: letter.reason,
    [HEADERS.sourceTopic]: letter.source?.topic ?? '',
    [HEADERS.sourcePartition]: String(letter.source?.partition ?? ''),
    [HEADERS.sourceOffset]: letter.source?.offset ?? '',
  };
}
