/**
 * The fan-out step for one input record: decode, match, render once per webhook, and say which
 * records to produce. Pure apart from the injected decoder; the partition's transaction (the caller)
 * produces the records and commits the offset with them, so each (event, webhook) leaves exactly once.
 */
import { type DispatchRecord, dispatchText, type Webhook } from '@hookpost/contracts';
import { type DecodeResult, type EmailEvent, isEventType } from '@hookpost/events';
import type { KafkaMessage, OutputRecord } from '@hookpost/kafka';
import { poisonLetter, type Source, suspendedLetter, unknownTypeLetter } from './dead-letters.ts';
import { envelope, envelopeText, renderData } from './render.ts';

export interface FanoutDeps {
  /** Throws only for transient failures (registry down): the batch is retried, never dead-lettered. */
  decode(buffer: Buffer | null): Promise<DecodeResult<EmailEvent>>;
  /** Enabled webhooks of the domain subscribed to the type, active or suspended. */
  match(domainId: string, type: string): Webhook[];
  topics: { dispatch: string; dlq: string };
  now(): number;
}

export type FanoutOutcome =
  | { kind: 'poison'; reason: string; records: OutputRecord[] }
  | { kind: 'unknown_type'; type: string; records: OutputRecord[] }
  | { kind: 'dropped'; records: [] }
  | { kind: 'matched'; dispatched: number; suspended: number; records: OutputRecord[] };

export async function fanOut(
  source: Source,
  message: KafkaMessage,
  deps: FanoutDeps,
): Promise<FanoutOutcome> {
  const decoded = await deps.decode(message.value);
  if (!decoded.ok)
    return poison(source, message, decoded.reason, `${decoded.reason}: ${decoded.error}`, deps);
  const event = decoded.value;
  if (!isEventType(event.type)) {
    const letter = unknownTypeLetter(source, message, event.type, deps.now());
    return {
      kind: 'unknown_type',
      type: event.type,
      records: [{ topic: deps.topics.dlq, ...letter.record }],
    };
  }
  const webhooks = deps.match(event.domain_id, event.type);
  if (webhooks.length === 0) return { kind: 'dropped', records: [] };
  const rendered = renderData(event);
  if (!rendered.ok) return poison(source, message, 'invalid', `invalid: ${rendered.error}`, deps);

  const now = deps.now();
  const records: OutputRecord[] = [];
  let dispatched = 0;
  let suspended = 0;
  // The shared `data` is serialised once per event; each webhook's record is written around it.
  let dataJson: string | undefined;
  for (const webhook of webhooks) {
    const fields = {
      event_id: event.id,
      webhook_id: webhook.id,
      type: event.type,
      event_created_at: event.created_at,
      dispatched_at: now,
    };
    if (webhook.status === 'active') {
      dispatched += 1;
      dataJson ??= JSON.stringify(rendered.data);
      const value = dispatchText(fields, envelopeText(event, webhook, dataJson));
      records.push({ topic: deps.topics.dispatch, key: webhook.id, value });
    } else {
      // Kept for replay after resume, not lost.
      suspended += 1;
      const record: DispatchRecord = { ...fields, payload: envelope(event, webhook, rendered.data) };
      records.push({
        topic: deps.topics.dlq,
        ...suspendedLetter(source, message.offset, record, now).record,
      });
    }
  }
  return { kind: 'matched', dispatched, suspended, records };
}

function poison(
  source: Source,
  message: KafkaMessage,
  reason: string,
  error: string,
  deps: FanoutDeps,
): FanoutOutcome {
  const letter = poisonLetter(source, message, error, deps.now());
  return { kind: 'poison', reason, records: [{ topic: deps.topics.dlq, ...letter.record }] };
}
