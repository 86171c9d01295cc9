/**
 * The fan-out step for one input record: decode, match, render the event's `data` once, and say which
 * records to produce: one dispatch record listing every active webhook it goes to (the batcher renders
 * each webhook's payload around that `data`), a batch of this one event for each active webhook at
 * `max_events` 1 (when `topics.batches` is set: such a batch is full as soon as it opens, so the
 * batcher would only copy it through), and a dead letter per suspended one. Pure apart from the injected decoder; the partition's transaction (the caller)
 * produces the records and commits the offset with them, so each (event, webhook) leaves exactly once.
 */
import {
  batchIdOf,
  type DeadLetterMessage,
  type DispatchTarget,
  filterPredicate,
  filterSubject,
  framedBatchRecord,
  framedDispatchRecord,
  maxEventsOf,
  payloadHead,
  payloadMiddle,
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
  /**
   * `batches`: where the batches of one event go for webhooks at `max_events` 1; absent, their events
   * go through the dispatch record and the batcher like every other webhook's (FANOUT_SINGLE_BATCHES).
   */
  topics: { dispatch: string; dlq: string; batches?: string };
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
      /** (event, webhook) pairs sent on: listed in the dispatch record or in a batch of their own. */
      dispatched: number;
      /** Of those, batches of this one event produced here (webhooks at max_events 1). */
      singles: number;
      suspended: number;
      /** Webhooks whose content filter did not match the event: nothing produced for them. */
      filtered: number;
      records: OutputRecord[];
    };

/**
 * What one input record comes to before anything is produced: a dead letter for unreadable input, or
 * the webhooks it goes to (active ones; suspended ones with their letter, built on demand). The fan-out
 * turns it into records (fanOut below); the batcher reading events itself (BATCHER_INPUT=events) puts
 * the active webhooks' entries straight into their open batches.
 */
export type EventMatch =
  | { kind: 'poison'; reason: string; letter: DeadLetterMessage }
  | { kind: 'unknown_type'; type: string; letter: DeadLetterMessage }
  | { kind: 'dropped' }
  | {
      kind: 'matched';
      event: EmailEvent;
      /** `created_at` as the payload carries it (ISO, microseconds). */
      createdAt: string;
      /** `data`'s JSON, serialised once for every webhook of the event ('' when none is active). */
      dataJson: string;
      active: Webhook[];
      suspended: { webhook: Webhook; letter: () => DeadLetterMessage }[];
      /** Webhooks whose content filter did not match the event. */
      filtered: number;
    };

export type MatchDeps = Pick<FanoutDeps, 'decode' | 'match' | 'now'>;

export async function matchEvent(
  source: Source,
  message: KafkaRecord,
  deps: MatchDeps,
  /** W3C headers for the dead letters (the fan-out span's). */
  trace?: TraceHeaders,
): Promise<EventMatch> {
  const decoded = await deps.decode(message.value);
  if (!decoded.ok)
    return poison(source, message, decoded.reason, `${decoded.reason}: ${decoded.error}`, deps, trace);
  const event = decoded.value;
  if (!isEventType(event.type))
    return {
      kind: 'unknown_type',
      type: event.type,
      letter: unknownTypeLetter(source, message, event.type, deps.now(), trace),
    };
  const webhooks = deps.match(event.domain_id, event.type);
  if (webhooks.length === 0) return { kind: 'dropped' };
  const rendered = renderData(event);
  if (!rendered.ok) return poison(source, message, 'invalid', `invalid: ${rendered.error}`, deps, trace);

  const now = deps.now();
  const active: Webhook[] = [];
  const suspended: { webhook: Webhook; letter: () => DeadLetterMessage }[] = [];
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
    if (webhook.status === 'active') active.push(webhook);
    // Kept for replay after resume, not lost.
    else
      suspended.push({
        webhook,
        letter: () =>
          suspendedLetter(
            source,
            message.offset,
            {
              event_id: event.id,
              webhook_id: webhook.id,
              type: event.type,
              event_created_at: event.created_at,
              dispatched_at: now,
              payload: envelope(event, webhook, rendered.data),
            },
            now,
            trace,
          ),
      });
  }
  const dataJson = active.length > 0 ? JSON.stringify(rendered.data) : '';
  return { kind: 'matched', event, createdAt, dataJson, active, suspended, filtered };
}

export async function fanOut(
  source: Source,
  message: KafkaRecord,
  deps: FanoutDeps,
  /** The fan-out span's W3C headers: on every record this event leads to. */
  trace?: TraceHeaders,
): Promise<FanoutOutcome> {
  const m = await matchEvent(source, message, deps, trace);
  if (m.kind === 'dropped') return { kind: 'dropped', records: [] };
  if (m.kind === 'poison')
    return { kind: 'poison', reason: m.reason, records: [{ topic: deps.topics.dlq, ...m.letter.record }] };
  if (m.kind === 'unknown_type')
    return { kind: 'unknown_type', type: m.type, records: [{ topic: deps.topics.dlq, ...m.letter.record }] };
  const { event, createdAt, dataJson } = m;
  const now = deps.now();
  const batches = deps.topics.batches;
  const targets: DispatchTarget[] = [];
  const singles: Webhook[] = [];
  for (const webhook of m.active)
    if (batches !== undefined && maxEventsOf(webhook) === 1) singles.push(webhook);
    else targets.push({ id: webhook.id, url: webhook.url });
  const records: OutputRecord[] = [];
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
      dataJson,
    );
    records.push({
      topic: deps.topics.dispatch,
      key: event.domain_id,
      value,
      ...(trace && { headers: trace }),
    });
  }
  for (const s of m.suspended) records.push({ topic: deps.topics.dlq, ...s.letter().record });
  if (batches !== undefined && singles.length > 0) {
    const head = payloadHead({ type: event.type, domain_id: event.domain_id, created_at: createdAt });
    for (const webhook of singles)
      records.push({
        topic: batches,
        key: webhook.id,
        value: singleBatch(source, message.offset, webhook, event, now, head, dataJson),
        ...(trace && { headers: trace }),
      });
  }
  const dispatched = targets.length + singles.length;
  return {
    kind: 'matched',
    dispatched,
    singles: singles.length,
    suspended: m.suspended.length,
    filtered: m.filtered,
    records,
  };
}

/**
 * The framed batch record of one event for one webhook: byte for byte the body the batcher would have
 * closed for it (the payload in brackets, or one line), its id from this event record (stable across a
 * replay of the fan-out's transaction), enqueued and created now.
 */
function singleBatch(
  source: Source,
  offset: string,
  webhook: Webhook,
  event: EmailEvent,
  now: number,
  head: string,
  dataJson: string,
): Buffer {
  const payload = [head, payloadMiddle({ id: webhook.id, url: webhook.url }), dataJson];
  return framedBatchRecord(
    {
      batch_id: batchIdOf(source.topic, source.partition, offset, webhook.id),
      webhook_id: webhook.id,
      format: webhook.format,
      event_ids: [event.id],
      first_enqueued_at: now,
      oldest_event_at: event.created_at,
      created_at: now,
    },
    webhook.format === 'jsonl' ? [...payload, '}\n'] : ['[', ...payload, '}]'],
  );
}

function poison(
  source: Source,
  message: KafkaRecord,
  reason: string,
  error: string,
  deps: MatchDeps,
  trace: TraceHeaders,
): EventMatch {
  return { kind: 'poison', reason, letter: poisonLetter(source, message, error, deps.now(), trace) };
}
