/** Dead letters fan-out writes: poison input (original bytes kept) and events for suspended webhooks. */
import {
  type DeadLetterMessage,
  type DispatchRecord,
  deadLetterMessage,
  deadLetterSource,
} from '@hookpost/contracts';
import type { KafkaMessage } from '@hookpost/kafka';

export interface Source {
  topic: string;
  partition: number;
}

export function poisonLetter(
  source: Source,
  message: KafkaMessage,
  error: string,
  now: number,
): DeadLetterMessage {
  return deadLetterMessage({
    reason: 'poison',
    source: deadLetterSource(source.topic, source.partition, message, true),
    webhookId: null,
    error,
    now,
  });
}

export function suspendedLetter(
  source: Source,
  offset: string,
  record: DispatchRecord,
  now: number,
): DeadLetterMessage {
  return deadLetterMessage({
    reason: 'suspended',
    // Where the event was, not its bytes or headers: the dispatch record inside is the payload.
    source: deadLetterSource(source.topic, source.partition, { offset, key: null, value: null }, false),
    webhookId: record.webhook_id,
    dispatch: [record],
    error: 'webhook is suspended',
    now,
    // One event dead-letters once per suspended webhook it matches.
    idParts: [record.event_id, record.webhook_id],
  });
}
