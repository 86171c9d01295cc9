/**
 * The one dead-letter writer: fan-out, batcher and delivery build every dead letter here, its value and
 * its headers together, so the DLQ holds one shape whoever wrote to it.
 */
import { createHash } from 'node:crypto';
import type { AttemptOutcome, BatchRecord, DeadLetter, DeadLetterReason, DispatchRecord } from './records.ts';

/** What a dead letter needs of the Kafka record it came from (KafkaJS's message fits). */
export interface SourceMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/** Headers on every dead letter, so a consumer can route or filter without parsing the value. */
export const DEAD_LETTER_HEADERS = {
  reason: 'x-reason',
  dlqId: 'x-dlq-id',
  sourceTopic: 'x-source-topic',
  sourcePartition: 'x-source-partition',
  sourceOffset: 'x-source-offset',
} as const;

/**
 * A deterministic dead-letter id: the same input record (or batch and attempt) yields the same id
 * when it is processed again after a crash, so the DLQ replay ledger, keyed by id, replays it once.
 */
export function stableDlqId(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22);
}

/**
 * Where a dead letter came from. `withBytes` keeps the value as base64 — for poison, whose bytes are
 * the only copy of the input; other dead letters carry the parsed record instead.
 */
export function deadLetterSource(
  topic: string,
  partition: number,
  message: SourceMessage,
  withBytes: boolean,
): NonNullable<DeadLetter['source']> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v === undefined) continue;
    headers[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key_b64: message.key ? message.key.toString('base64') : null,
    value_b64: withBytes && message.value ? message.value.toString('base64') : null,
    headers,
  };
}

export interface DeadLetterInput {
  reason: DeadLetterReason;
  /** The record it came from: every dead letter has one (it is what makes the id deterministic). */
  source: NonNullable<DeadLetter['source']>;
  webhookId: string | null;
  batch?: BatchRecord | null;
  dispatch?: DispatchRecord[] | null;
  attempts?: AttemptOutcome[];
  error: string | null;
  now: number;
  /**
   * What the id is made of, beside the reason. Default: the source's topic, partition and offset (one
   * letter per input record). Fan-out's suspended letters use (event id, webhook id): one input event
   * may dead-letter for several webhooks.
   */
  idParts?: readonly (string | number)[];
  /** W3C trace headers of the stage that writes the letter (libs/tracing), so the trace reaches the DLQ. */
  traceHeaders?: Readonly<Record<string, string>>;
}

/** A dead letter and the record to produce to the DLQ (keyed by webhook id, null when unknown). */
export interface DeadLetterMessage {
  letter: DeadLetter;
  record: { key: string | null; value: string; headers: Record<string, string> };
}

export function deadLetterMessage(input: DeadLetterInput): DeadLetterMessage {
  const { source } = input;
  const idParts = input.idParts ?? [source.topic, source.partition, source.offset];
  const letter: DeadLetter = {
    dlq_id: stableDlqId(input.reason, ...idParts),
    reason: input.reason,
    webhook_id: input.webhookId,
    batch: input.batch ?? null,
    dispatch: input.dispatch ?? null,
    attempts: input.attempts ?? [],
    error: input.error,
    dead_at: input.now,
    source,
  };
  return {
    letter,
    record: {
      key: letter.webhook_id,
      value: JSON.stringify(letter),
      headers: { ...input.traceHeaders, ...deadLetterHeaders(letter) },
    },
  };
}

/** The headers of a dead letter's record: its reason, id and where it came from. */
export function deadLetterHeaders(letter: DeadLetter): Record<string, string> {
  const h: Record<string, string> = {
    [DEAD_LETTER_HEADERS.reason]: letter.reason,
    [DEAD_LETTER_HEADERS.dlqId]: letter.dlq_id,
  };
  if (letter.source) {
    h[DEAD_LETTER_HEADERS.sourceTopic] = letter.source.topic;
    h[DEAD_LETTER_HEADERS.sourcePartition] = String(letter.source.partition);
    h[DEAD_LETTER_HEADERS.sourceOffset] = letter.source.offset;
  }
  return h;
}
