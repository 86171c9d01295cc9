import { createHash } from 'node:crypto';
import type { DeadLetter } from './records.ts';

/** What a dead letter needs of the Kafka record it came from (KafkaJS's message fits). */
export interface SourceMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

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
