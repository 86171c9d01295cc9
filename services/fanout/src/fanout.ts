/**
 * The fan-out step for one input record: decode, match, render once per webhook, and say which
 * records to produce. Pure apart from the injected decoder; the partition's transaction (the caller)
 * produces the records and commits the offset with them, so each (event, webhook) leaves exactly once.
 */
import {
  type DispatchRecord,
  dispatchText,
  filterPredicate,
  filterSubject,
  type Webhook,
} from '@hookpost/contracts';
import { type DecodeResult, type EmailEvent, isEventType } from '@hookpost/events';
import type { KafkaRecord, OutputRecord } from '@hookpost/kafka';
import type { Tracing } from '@hookpost/tracing';
import {
  poisonLetter,
  type Source,
  suspendedLetter,
  type TraceHeaders,
  unknownTypeLetter,
} from './dead-letters.ts';
import { envelope, envelopeText, isoMicros, renderData } from './render.ts';

export interface FanoutDeps {
  /** Throws only for transient failures (registry down): the batch is retried, never dead-lettered. */
  decode(buffer: Buffer | null): Promise<DecodeResult<EmailEvent>>;
  /** Enabled webhooks of the domain subscribed to the type, active or suspended. */
  match(domainId: string, type: string): Webhook[];
  topics: { dispatch: string; dlq: string };
  now(): number;
  /** Spans of the fan-out (default TRACING_OFF). */
  tracing?: Tracing;
}

export type FanoutOutcome =
  | { kind: 'poison'; reason: string; records: OutputRecord[] }
  | { kind: 'unknown_type'; type: string; records: OutputRecord[] }
  | { kind: 'dropped'; records: [] }
  | {
      kind: 'matched';
      dispatched: number;
      suspended: number;
      /** Webhooks whose content filter did not match the event: nothing produced for them. */
      filtered: number;
      records: OutputRecord[];
    };

export async function fanOut(
  source: Source,
  message: KafkaRecord,
  deps: FanoutDeps,
  /** The fan-out span's W3C headers: on every record this event leads to. */
  trace?: TraceHeaders,
): Promise<FanoutOutcome> {
  const decoded = await deps.decode(message.value);
  if (!decoded.ok)
    return poison(source, message, decoded.reason, `${decoded.reason}: ${decoded.error}`, deps, trace);
  const event = decoded.value;
  if (!isEventType(event.type)) {
    const letter = unknownTypeLetter(source, message, event.type, deps.now(), trace);
    return {
      kind: 'unknown_type',
      type: event.type,
      records: [{ topic: deps.topics.dlq, ...letter.record }],
    };
  }
  const webhooks = deps.match(event.domain_id, event.type);
  if (webhooks.length === 0) return { kind: 'dropped', records: [] };
  const rendered = renderData(event);
  if (!rendered.ok) return poison(source, message, 'invalid', `invalid: ${rendered.error}`, deps, trace);

  const now = deps.now();
  const records: OutputRecord[] = [];
  let dispatched = 0;
  let suspended = 0;
  let filtered = 0;
  // What filters see, built once per event and only when a matched webhook has a filter.
  let subject: Record<string, unknown> | undefined;
  // The shared `data` is serialised once per event; each webhook's record is written around it.
  let dataJson: string | undefined;
  for (const webhook of webhooks) {
    if (webhook.filter) {
      subject ??= filterSubject(event.type, event.domain_id, isoMicros(event.created_at), rendered.data);
      if (!filterPredicate(webhook.filter)(subject)) {
        // Not for this webhook, whatever its status: a suspended one does not keep it for replay either.
        filtered += 1;
        continue;
      }
    }
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
      records.push({ topic: deps.topics.dispatch, key: webhook.id, value, ...(trace && { headers: trace }) });
    } else {
      // Kept for replay after resume, not lost.
      suspended += 1;
      const record: DispatchRecord = { ...fields, payload: envelope(event, webhook, rendered.data) };
      records.push({
        topic: deps.topics.dlq,
        ...suspendedLetter(source, message.offset, record, now, trace).record,
      });
    }
  }
  return { kind: 'matched', dispatched, suspended, filtered, records };
}

function poison(
  source: Source,
  message: KafkaRecord,
  reason: string,
  error: string,
  deps: FanoutDeps,
  trace: TraceHeaders,
): FanoutOutcome {
  const letter = poisonLetter(source, message, error, deps.now(), trace);
  return { kind: 'poison', reason, records: [{ topic: deps.topics.dlq, ...letter.record }] };
}
