/** The fan-out's partition handler: every fetched batch is one transaction (outputs + offsets). */

import { poisonKey, watermarkOffset, webhookKey } from '@hookpost/contracts';
import type { OutputRecord, PartitionControl, PartitionHandler } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import { type FanoutDeps, type FanoutOutcome, fanOut } from './fanout.ts';
import type { FanoutMetrics } from './metrics.ts';

/** Heartbeat at least this often inside a long batch so the group does not think we died. */
const HEARTBEAT_EVERY = 500;
/** Outputs are sent (inside the open transaction) in slices, so a large fetch never sits in memory whole. */
const FLUSH_EVERY = 1000;

/**
 * Reads the partition's watermarks of a batcher that read email.events itself (BATCHER_INPUT=events;
 * `<partition>/<webhook id>` and `<partition>#poison`, each the last input offset that left in one of
 * its committed transactions), calling `onRecord` for each in order.
 */
export type ReadEventWatermarks = (
  partition: number,
  onRecord: (key: string, value: string | null) => void,
) => Promise<void>;

/**
 * What an events batcher that owned the partition before this fan-out already sent: its committed
 * offset stays at the first record of its oldest open batch, so the records after it that left in its
 * batches (or dead letters) for some webhooks must not go to those webhooks again. Records above
 * every watermark are untouched, so this costs one comparison per record once past them.
 */
class LeftBefore {
  private readonly marks = new Map<string, bigint>();
  private poison = -1n;
  private max = -1n;

  private readonly partition: number;

  constructor(partition: number) {
    this.partition = partition;
  }

  load(key: string, value: string | null): void {
    const offset = watermarkOffset(value);
    if (key === poisonKey(this.partition)) this.poison = offset ?? -1n;
    else if (key.startsWith(webhookKey(this.partition, ''))) {
      const id = key.slice(webhookKey(this.partition, '').length);
      if (offset === undefined) this.marks.delete(id);
      else this.marks.set(id, offset);
    } else return;
    if (offset !== undefined && offset > this.max) this.max = offset;
  }

  /** No watermark at all (the usual case: no events batcher ran before, or it left nothing open). */
  get empty(): boolean {
    return this.max < 0n;
  }

  /** The webhooks this record already reached, when any did. */
  skipAt(offset: bigint): ((webhookId: string) => boolean) | undefined {
    if (offset > this.max) return undefined;
    return (id) => (this.marks.get(id) ?? -1n) >= offset;
  }

  letterLeft(offset: bigint): boolean {
    return offset <= this.poison;
  }
}

export function fanoutHandler(
  deps: FanoutDeps,
  metrics: FanoutMetrics,
  logger: Logger,
  readEventWatermarks?: ReadEventWatermarks,
) {
  return (control: PartitionControl): PartitionHandler => {
    const source = { topic: control.topic, partition: control.partition };
    const log = logger.child({ topic: control.topic, partition: control.partition });
    let left: LeftBefore | undefined;
    return {
      // Once per ownership: after a switch from the events batcher, what it sent is in its watermarks.
      init: async () => {
        if (!readEventWatermarks) return;
        const marks = new LeftBefore(control.partition);
        await readEventWatermarks(control.partition, (key, value) => marks.load(key, value));
        // Kept only when there is something to skip: otherwise the records pay nothing for it.
        left = marks.empty ? undefined : marks;
      },
      onMessages: async (messages, tx, heartbeat) => {
        let out: OutputRecord[] = [];
        for (let i = 0; i < messages.length; i += 1) {
          const message = messages[i]!;
          const skip = left?.skipAt(BigInt(message.offset));
          const span = deps.tracing?.fanout(source, message);
          let outcome = await fanOut(
            source,
            message,
            skip ? { ...deps, match: (d, t) => deps.match(d, t).filter((w) => !skip(w.id)) } : deps,
            span?.headers,
          );
          if (
            skip &&
            (outcome.kind === 'poison' || outcome.kind === 'unknown_type') &&
            left!.letterLeft(BigInt(message.offset))
          )
            outcome = { kind: 'dropped', records: [] };
          span?.end({ 'hookpost.outcome': outcome.kind, 'hookpost.records': outcome.records.length });
          countMatch(metrics, log, message.offset, outcome);
          for (const r of outcome.records) out.push(r);
          if (out.length >= FLUSH_EVERY) {
            await tx.send(out);
            out = [];
          }
          if (i > 0 && i % HEARTBEAT_EVERY === 0) await heartbeat();
        }
        await tx.send(out);
        return 'commit';
      },
      reset: () => {},
    };
  };
}

/** What one input record's outcome counts, and logs (a dead letter: a warning naming its offset). */
export function countMatch(
  metrics: FanoutMetrics,
  log: Logger,
  offset: string,
  outcome:
    | Pick<Extract<FanoutOutcome, { kind: 'poison' }>, 'kind' | 'reason'>
    | Pick<Extract<FanoutOutcome, { kind: 'unknown_type' }>, 'kind' | 'type'>
    | { kind: 'dropped' }
    | Pick<
        Extract<FanoutOutcome, { kind: 'matched' }>,
        'kind' | 'dispatched' | 'singles' | 'suspended' | 'filtered'
      >,
): void {
  metrics.consumed.inc();
  if (outcome.kind === 'poison') {
    metrics.poison.inc({ reason: outcome.reason });
    log.warn({ offset, reason: outcome.reason }, 'poison record dead-lettered');
  } else if (outcome.kind === 'unknown_type') {
    metrics.unknownType.inc();
    // The type is producer input: logged as JSON, cut short, never as a label.
    const type = outcome.type.slice(0, 100);
    log.warn({ offset, type }, 'event of unknown type dead-lettered');
  } else if (outcome.kind === 'dropped') {
    metrics.dropped.inc();
  } else {
    metrics.matched.inc();
    metrics.dispatched.inc(outcome.dispatched);
    if (outcome.singles > 0) metrics.singles.inc(outcome.singles);
    metrics.suspended.inc(outcome.suspended);
    if (outcome.filtered > 0) metrics.filtered.inc(outcome.filtered);
  }
}
