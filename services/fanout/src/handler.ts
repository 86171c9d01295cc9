/** The fan-out's partition handler: every fetched batch is one transaction (outputs + offsets). */

import type { OutputRecord, PartitionControl, PartitionHandler } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import { type FanoutDeps, type FanoutOutcome, fanOut } from './fanout.ts';
import type { FanoutMetrics } from './metrics.ts';

/** Heartbeat at least this often inside a long batch so the group does not think we died. */
const HEARTBEAT_EVERY = 500;
/** Outputs are sent (inside the open transaction) in slices, so a large fetch never sits in memory whole. */
const FLUSH_EVERY = 1000;

export function fanoutHandler(deps: FanoutDeps, metrics: FanoutMetrics, logger: Logger) {
  return (control: PartitionControl): PartitionHandler => {
    const source = { topic: control.topic, partition: control.partition };
    const log = logger.child({ topic: control.topic, partition: control.partition });
    return {
      onMessages: async (messages, tx, heartbeat) => {
        let out: OutputRecord[] = [];
        for (let i = 0; i < messages.length; i += 1) {
          const message = messages[i]!;
          const span = deps.tracing?.fanout(source, message);
          const outcome = await fanOut(source, message, deps, span?.headers);
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
