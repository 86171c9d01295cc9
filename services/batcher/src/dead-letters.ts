/** Dead letters the batcher writes: undecodable dispatch records and records of deleted webhooks. */
import {
  type DeadLetterMessage,
  type DispatchRecord,
  deadLetterMessage,
  deadLetterSource,
} from '@hookpost/contracts';
import type { KafkaRecord } from '@hookpost/kafka';

export function deadLetter(
  reason: 'poison' | 'deleted',
  source: { topic: string; partition: number },
  message: KafkaRecord,
  record: DispatchRecord | null,
  error: string,
  now: number,
  /** The dispatch record's trace headers, carried on (libs/tracing); undefined with tracing off. */
  traceHeaders?: Record<string, string>,
): DeadLetterMessage {
  return deadLetterMessage({
    reason,
    // Poison keeps its exact bytes (the only copy of the input); a deleted webhook's record is kept parsed.
    source: deadLetterSource(source.topic, source.partition, message, reason === 'poison'),
    webhookId: record?.webhook_id ?? null,
    dispatch: record ? [record] : null,
    error,
    now,
    // One record lists every webhook of its event: a deleted webhook's letter is named by the webhook too.
    ...(record && { idParts: [source.topic, source.partition, message.offset, record.webhook_id] }),
    traceHeaders,
  });
}
