/** Dead letters fan-out writes: poison input (original bytes kept) and events for suspended webhooks. */
import { createHash } from 'node:crypto';
import type { DeadLetter, DispatchRecord } from '@hookpost/contracts';
import { HEADERS, type KafkaMessage } from '@hookpost/kafka';

export interface Source {
  topic: string;
  partition: number;
}

/** Deterministic ids: a replayed input record yields the same dead letter id, so readers can dedupe. */
export function stableId(...parts: (string | number)[]): string {
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 22);
}

function headersOf(message: KafkaMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.map(String).join(',') : String(v);
  }
  return out;
}

export function poisonLetter(source: Source, message: KafkaMessage, error: string, now: number): DeadLetter {
  return {
    dlq_id: stableId('poison', source.topic, source.partition, message.offset),
    reason: 'poison',
    webhook_id: null,
    batch: null,
    dispatch: null,
    attempts: [],
    error,
    dead_at: now,
    source: {
      topic: source.topic,
      partition: source.partition,
      offset: message.offset,
      key_b64: message.key ? message.key.toString('base64') : null,
      value_b64: message.value ? message.value.toString('base64') : null,
      headers: headersOf(message),
    },
  };
}

export function suspendedLetter(
  source: Source,
  offset: string,
  record: DispatchRecord,
  now: number,
): DeadLetter {
  return {
    dlq_id: stableId('suspended', record.event_id, record.webhook_id),
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
