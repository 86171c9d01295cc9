/** Fixtures shared by the batcher's unit tests (imported by *.test.ts only). */
import type { KafkaRecord } from '@hookpost/kafka';

/** A dispatch record for `webhook` at `offset` (event id `e<offset>`), or undecodable bytes. */
export const dispatchMessage = (offset: number, webhook: string, poison = false): KafkaRecord =>
  ({
    offset: String(offset),
    key: Buffer.from(webhook),
    value: Buffer.from(
      poison
        ? '{not json'
        : JSON.stringify({
            event_id: `e${offset}`,
            webhook_id: webhook,
            type: 't',
            event_created_at: 0,
            dispatched_at: 0,
            payload: { o: offset },
          }),
    ),
    headers: {},
  }) as unknown as KafkaRecord;
