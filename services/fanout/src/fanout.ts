/**
 * The fan-out step for one input record: decode, match, render the event's `data` once, and say which
 * records to produce: one dispatch record listing every active webhook it goes to (the batcher renders
 * each webhook's payload around that `data`), and a dead letter per suspended one. Pure apart from the injected decoder; the partition's transaction (the caller)
 * produces the records and commits the offset with them, so each (event, webhook) leaves exactly once.
 */
import {
  type DispatchRecord,
  type DispatchTarget,
  filterPredicate,
  filterSubject,
  framedDispatchRecord,
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
import { envelope, isoMicros, renderData } from './render.ts';

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
  const targets: DispatchTarget[] = [];
  let suspended = 0;
  let filtered = 0;
  // What filters see, built once per event and only when a matched webhook has a filter.
  let subject: Record<string, unknown> | undefined;
  const createdAt = isoMicros(event.created_at);
  for (const webhook of webhooks) {
    if (webhook.filter) {
      subject ??= filterSubject(event.type, event.domain_id, createdAt, rendered.data);
      if (!filterPredicate(webhook.filter)(subject)) {
        // Not for this webhook, whatever its status: a suspended one does not keep it for replay either.
        filtered += 1;
        continue;
      }
    }
    if (webhook.status === 'active') {
      targets.push({ id: webhook.id, url: webhook.url });
    } else {
      // Kept for replay after resume, not lost.
      suspended += 1;
      const record: DispatchRecord = {
        event_id: event.id,
        webhook_id: webhook.id,
        type: event.type,
        event_created_at: event.created_at,
        dispatched_at: now,
        payload: envelope(event, webhook, rendered.data),
      };
      records.push({
        topic: deps.topics.dlq,
        ...suspendedLetter(source, message.offset, record, now, trace).record,
      });
    }
  }
  if (targets.length > 0) {
    // One record for every webhook of the event, the shared `data` serialised once, keyed by the domain
    // (every webhook here belongs to it) so each webhook's records stay in one partition, in order.
    // Framed (dispatch-wire.ts): `data`'s JSON follows the head as its own bytes, which the batcher
    // copies into the payloads without parsing it. As bytes: the record waits in the transaction's
    // send slice (up to 1 000), and a string of ~1 KB there is copied by every young-generation
    // collection until promoted; a Buffer's bytes live outside the heap.
    const value = framedDispatchRecord(
      {
        event_id: event.id,
        type: event.type,
        domain_id: event.domain_id,
        created_at: createdAt,
        event_created_at: event.created_at,
        dispatched_at: now,
        webhooks: targets,
      },
      JSON.stringify(rendered.data),
    );
    records.unshift({
      topic: deps.topics.dispatch,
      key: event.domain_id,
      value,
      ...(trace && { headers: trace }),
    });
  }
  const dispatched = targets.length;
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
