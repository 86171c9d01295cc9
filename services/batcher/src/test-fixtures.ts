/** Fixtures shared by the batcher's unit tests (imported by *.test.ts only). */
import {
  type BatchRecord,
  eventDispatchText,
  framedDispatchRecord,
  isFramedBatch,
  parseBatchRecord,
} from '@hookpost/contracts';
import type { KafkaRecord, OutputRecord } from '@hookpost/kafka';

/**
 * A record the batcher produced, decoded: a batch (framed, @hookpost/contracts batch-wire.ts) through
 * the reader delivery uses, as a plain BatchRecord; anything else (a dead letter, a watermark) as JSON.
 */
// biome-ignore lint/suspicious/noExplicitAny: tests read whichever document it is.
export function decoded(value: Buffer | string | null | undefined): any {
  const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value));
  if (!isFramedBatch(bytes)) return JSON.parse(bytes.toString('utf8'));
  const r = parseBatchRecord(bytes);
  if (!r.ok) throw new Error(`not a batch record: ${r.error}`);
  return { ...r.value } as BatchRecord;
}

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

/**
 * The fan-out's one record per event at `offset` (event id `e<offset>`) for `webhooks` (listed as given,
 * repeats included), its data `{ o: offset }`: framed as the fan-out writes it (@hookpost/contracts
 * dispatch-wire.ts), or in the JSON form the batcher also reads.
 */
export const eventDispatchMessage = (
  offset: number,
  webhooks: string[],
  form: 'framed' | 'json' = 'framed',
): KafkaRecord => {
  const head = {
    event_id: `e${offset}`,
    type: 't',
    domain_id: 'domain',
    created_at: '2026-12-03T00:00:00.000000Z',
    event_created_at: 0,
    dispatched_at: 0,
    webhooks: webhooks.map((id) => ({ id, url: `https://example.com/${id}` })),
  };
  const data = JSON.stringify({ o: offset });
  return {
    offset: String(offset),
    key: Buffer.from('domain'),
    value: form === 'framed' ? framedDispatchRecord(head, data) : Buffer.from(eventDispatchText(head, data)),
    headers: {},
  } as unknown as KafkaRecord;
};

/**
 * A record as the broker keeps it: its value copied. The handler frees a closed batch's value once
 * its send resolves (releaseBytes), so a fake transaction that kept the record itself would read it empty.
 */
export const onTheWire = (r: OutputRecord): OutputRecord =>
  Buffer.isBuffer(r.value) ? { ...r, value: Buffer.from(r.value) } : r;
