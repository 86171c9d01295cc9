/**
 * What the batcher reads, record by record: the fan-out's dispatch records (BATCHER_INPUT=dispatch, the
 * default), or the MTAs' events themselves (BATCHER_INPUT=events), matched here with the fan-out's own
 * step (matchEvent of services/fanout) so no fan-out runs and each event crosses the broker once less
 * (issue 15: the dispatch record cost a produce, a consume and ~0.9 KB on the broker per event).
 *
 * Either way a record comes to the webhooks whose open batches it joins, its dead letters, or nothing;
 * the handler (handler.ts) does the rest the same for both: watermarks, windows, commits.
 */
import {
  type DeadLetterMessage,
  type DispatchRecord,
  type DispatchTarget,
  type EventDispatchInput,
  parseDispatchInput,
  payloadHead,
  webhookVersionOf,
} from '@hookpost/contracts';
import { countMatch, type FanoutMetrics, type MatchDeps, matchEvent } from '@hookpost/fanout';
import type { KafkaRecord, PartitionControl } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import type { Tracing } from '@hookpost/tracing';
import { type Entry, recordEntry } from './accumulator.ts';
import { deadLetter } from './dead-letters.ts';
import type { BatcherMetrics } from './metrics.ts';
import { entryOf, sharedPieces } from './payloads.ts';

/** One webhook a record goes to. */
interface InputTarget {
  id: string;
  entry(): Entry;
  /** Its per-webhook dispatch record (the payload of a `deleted` dead letter). */
  record(): DispatchRecord;
}

export type InputRead =
  /** Nothing for any webhook (an event no one subscribes to). */
  | { kind: 'none' }
  /**
   * Unreadable: one dead letter, under the partition's poison watermark. `letter` is called only when
   * the record has not left before (a replay skips it), and counts and logs it.
   */
  | { kind: 'letter'; letter: () => DeadLetterMessage }
  | {
      kind: 'targets';
      eventId: string;
      /** Each webhook once. */
      targets: InputTarget[];
      /** Webhooks the record is dead-lettered for (suspended), each under its own watermark. */
      suspended: { id: string; letter: () => DeadLetterMessage }[];
      /** The webhook version a replayer saw (webhook-version.ts), carried onto the batch. */
      version: number | undefined;
    };

/** Reads the records of one input partition. */
export type InputReader = (m: KafkaRecord, now: number) => InputRead | Promise<InputRead>;

export interface ReaderContext {
  control: PartitionControl;
  metrics: BatcherMetrics;
  log: Logger;
  tracing?: Tracing;
}

/** webhooks.dispatch: the fan-out's records (one per event listing its webhooks; or one per webhook). */
export function dispatchReader({ control, metrics, log, tracing }: ReaderContext): InputReader {
  return (m, now) => {
    const parsed = parseDispatchInput(m.value);
    if (!parsed.ok)
      return {
        kind: 'letter',
        letter: () => {
          metrics.deadLettered.inc({ reason: 'poison' });
          log.warn({ offset: m.offset, error: parsed.error }, 'undecodable dispatch record dead-lettered');
          return deadLetter('poison', control, m, null, parsed.error, now, tracing?.carry(m.headers));
        },
      };
    const input = parsed.value;
    // Replayed records carry the webhook version their replayer saw; the fan-out's carry none.
    const version = webhookVersionOf(m.headers) ?? undefined;
    if (input.kind === 'webhook') {
      const r = input.record;
      return {
        kind: 'targets',
        eventId: r.event_id,
        targets: [{ id: r.webhook_id, entry: () => recordEntry(r), record: () => r }],
        suspended: [],
        version,
      };
    }
    return {
      kind: 'targets',
      eventId: input.record.event_id,
      targets: targetsOf(input),
      suspended: [],
      version,
    };
  };
}

/** Each listed webhook once, even in a record that lists one twice (the fan-out never writes that). */
function targetsOf(input: EventDispatchInput): InputTarget[] {
  const shared = sharedPieces(input);
  const seen = new Set<string>();
  const targets: InputTarget[] = [];
  for (const t of input.record.webhooks) {
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    targets.push({ id: t.id, entry: () => shared.entry(t), record: () => shared.record(t) });
  }
  return targets;
}

/**
 * email.events (Avro): decoded, matched and rendered by the fan-out's step, counted on the fan-out's
 * counters (webhooks_fanout_*), its dead letters the fan-out's (poison and unknown type with their
 * bytes, one per suspended webhook). A replayed event is matched again against the table as it is then
 * (a webhook created meanwhile may get it; one whose open batch held it gets it once, by its watermark).
 */
export function eventReader(
  deps: MatchDeps & { fanoutMetrics: FanoutMetrics },
  { control, log, tracing }: Pick<ReaderContext, 'control' | 'log' | 'tracing'>,
): InputReader {
  const source = { topic: control.topic, partition: control.partition };
  return async (m, now) => {
    const match = await matchEvent(source, m, deps, tracing?.carry(m.headers));
    if (match.kind === 'dropped') {
      countMatch(deps.fanoutMetrics, log, m.offset, match);
      return { kind: 'none' };
    }
    if (match.kind !== 'matched') {
      countMatch(deps.fanoutMetrics, log, m.offset, match);
      return { kind: 'letter', letter: () => match.letter };
    }
    countMatch(deps.fanoutMetrics, log, m.offset, {
      kind: 'matched',
      dispatched: match.active.length,
      singles: 0,
      suspended: match.suspended.length,
      filtered: match.filtered,
    });
    // Every webhook's filter refused it: as good as dropped (the commit point may pass it).
    if (match.active.length === 0 && match.suspended.length === 0) return { kind: 'none' };
    const { event } = match;
    // Strings, written into each webhook's pages (a Buffer of them would be garbage at once).
    const head = payloadHead({ type: event.type, domain_id: event.domain_id, created_at: match.createdAt });
    const data = match.dataJson;
    const sharedBytes = Buffer.byteLength(head) + Buffer.byteLength(data);
    // The per-webhook record only for a `deleted` dead letter (a webhook the table dropped meanwhile).
    let shared: ReturnType<typeof sharedPieces> | undefined;
    const record = (w: DispatchTarget) => {
      shared ??= sharedPieces({
        kind: 'event',
        record: {
          event_id: event.id,
          type: event.type,
          domain_id: event.domain_id,
          created_at: match.createdAt,
          event_created_at: event.created_at,
          dispatched_at: now,
          webhooks: [],
        },
        dataBytes: Buffer.from(data),
      });
      return shared.record(w);
    };
    return {
      kind: 'targets',
      eventId: event.id,
      // The table's match lists each webhook once.
      targets: match.active.map((w) => ({
        id: w.id,
        entry: () => entryOf(event.id, event.created_at, head, w, data, sharedBytes),
        record: () => record(w),
      })),
      suspended: match.suspended.map((s) => ({ id: s.webhook.id, letter: s.letter })),
      version: undefined,
    };
  };
}
