/**
 * Dead letters fan-out writes: poison input and events of unknown type (original bytes kept), and events
 * for suspended webhooks.
 */
import {
  type DeadLetterMessage,
  type DispatchRecord,
  deadLetterMessage,
  deadLetterSource,
} from '@hookpost/contracts';
import type { KafkaRecord } from '@hookpost/kafka';

export interface Source {
  topic: string;
  partition: number;
}

/** W3C trace headers of the fan-out span (libs/tracing), or undefined with tracing off. */
export type TraceHeaders = Readonly<Record<string, string>> | undefined;

export function poisonLetter(
  source: Source,
  message: KafkaRecord,
  error: string,
  now: number,
  traceHeaders?: TraceHeaders,
): DeadLetterMessage {
  return deadLetterMessage({
    reason: 'poison',
    source: deadLetterSource(source.topic, source.partition, message, true),
    webhookId: null,
    error,
    now,
    traceHeaders,
  });
}

/**
 * An event that decodes but whose `type` is outside the catalog (a misspelling from a producer whose
 * serializer checks only the schema, where `type` is a string): no webhook can ever subscribe to it,
 * so it is kept with its bytes for the producing team instead of being dropped without a trace.
 */
export function unknownTypeLetter(
  source: Source,
  message: KafkaRecord,
  type: string,
  now: number,
  traceHeaders?: TraceHeaders,
): DeadLetterMessage {
  return deadLetterMessage({
    reason: 'unknown_type',
    source: deadLetterSource(source.topic, source.partition, message, true),
    webhookId: null,
    error: `unknown_type: event type ${JSON.stringify(type)} is not in the catalog`,
    now,
    traceHeaders,
  });
}

export function suspendedLetter(
  source: Source,
  offset: string,
  record: DispatchRecord,
  now: number,
  traceHeaders?: TraceHeaders,
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
    traceHeaders,
  });
}
