/** Dead letters fan-out writes: poison input (original bytes kept) and events for suspended webhooks. */
import { type DeadLetter, type DispatchRecord, deadLetterSource, stableDlqId } from '@hookpost/contracts';
import { HEADERS, type KafkaMessage } from '@hookpost/kafka';

export interface Source {
  topic: string;
  partition: number;
}

export function poisonLetter(source: Source, message: KafkaMessage, error: string, now: number): DeadLetter {
  return {
    dlq_id: stableDlqId('poison', source.topic, source.partition, message.offset),
    reason: 'poison',
    webhook_id: null,
    batch: null,
    dispatch: null,
    attempts: [],
    error,
    dead_at: now,
    source: deadLetterSource(source.topic, source.partition, message, true),
  };
}

/**
 * An event that decodes but whose `type` is outside the catalog (a misspelling from a producer whose
 * serializer checks only the schema, where `type` is a string): no webhook can ever subscribe to it,
 * so it is kept with its bytes for the producing team instead of being dropped without a trace.
 */
export function unknownTypeLetter(
  source: Source,
  message: KafkaMessage,
  type: string,
  now: number,
): DeadLetter {
  return {
    ...poisonLetter(
      source,
      message,
      `unknown_type: event type ${JSON.stringify(type)} is not in the catalog`,
      now,
    ),
    dlq_id: stableDlqId('unknown_type', source.topic, source.partition, message.offset),
    reason: 'unknown_type',
  };
}

export function suspendedLetter(
  source: Source,
  offset: string,
  record: DispatchRecord,
  now: number,
): DeadLetter {
  return {
    dlq_id: stableDlqId('suspended', record.event_id, record.webhook_id),
    reason: 'suspended',
    webhook_id: record.webhook_id,
    batch: null,
    dispatch: [record],
    attempts: [],
    error: 'webhook is suspended',
    dead_at: now,
    source: {
      topic: source.topic,
      partition: source.partition,
      offset,
      key_b64: null,
      value_b64: null,
      headers: {},
    },
  };
}

export function letterHeaders(letter: DeadLetter): Record<string, string> {
  const h: Record<string, string> = { [HEADERS.reason]: letter.reason };
  if (letter.source) {
    h[HEADERS.sourceTopic] = letter.source.topic;
    h[HEADERS.sourcePartition] = String(letter.source.partition);
    h[HEADERS.sourceOffset] = letter.source.offset;
  }
  return h;
}
