/** Dead letters the batcher writes: undecodable dispatch records and records of deleted webhooks. */
import { createHash } from 'node:crypto';
import type { DeadLetter, DispatchRecord } from '@hookpost/contracts';
import { HEADERS, type KafkaMessage } from '@hookpost/kafka';

export function deadLetter(
  reason: 'poison' | 'deleted',
  source: { topic: string; partition: number },
  message: KafkaMessage,
  record: DispatchRecord | null,
  error: string,
  now: number,
): DeadLetter {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
  return {
    // Deterministic, so a replayed record yields the same id.
    dlq_id: createHash('sha256')
      .update(`${reason}\u0000${source.topic}\u0000${source.partition}\u0000${message.offset}`)
      .digest('base64url')
      .slice(0, 22),
    reason,
    webhook_id: record?.webhook_id ?? null,
    batch: null,
    dispatch: record ? [record] : null,
    attempts: [],
    error,
    dead_at: now,
    source: {
      topic: source.topic,
      partition: source.partition,
      offset: message.offset,
      key_b64: message.key ? message.key.toString('base64') : null,
      value_b64: reason === 'poison' && message.value ? message.value.toString('base64') : null,
      headers,
    },
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
