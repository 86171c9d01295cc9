/**
 * The batcher's partition handler. Records join their webhook's open batch; full batches are produced
 * at once in the partition's open transaction; when the partition's window ends (a timer, through
 * PartitionControl.commit, serialised with the fetch loop) every open batch is produced and the
 * consumed offsets commit with them. An abort resets the window: its records are consumed again.
 */
import {
  type BatchRecord,
  type DeadLetterMessage,
  LIMITS,
  parseDispatchRecord,
  type Webhook,
} from '@hookpost/contracts';
import type { OutputRecord, PartitionControl, PartitionHandler } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import { type BatchSettings, WindowAccumulator } from './accumulator.ts';
import { deadLetter } from './dead-letters.ts';
import type { BatcherMetrics } from './metrics.ts';

export interface Clock {
  now(): number;
  /** Runs `fn` after `ms`; returns a cancel function. */
  schedule(fn: () => void, ms: number): () => void;
}

export interface BatcherDeps {
  webhook(id: string): Webhook | undefined;
  topics: { batches: string; dlq: string };
  windowMs: number;
  maxBytes: number;
  /** Open batches' bytes per partition above which the window ends early (bounds memory with many webhooks). */
  maxBufferedBytes: number;
  clock: Clock;
  metrics: BatcherMetrics;
  logger: Logger;
}

const HEARTBEAT_EVERY = 500;

export function settingsOf(w: Webhook): BatchSettings {
  const maxEvents = Math.min(
    LIMITS.maxEventsPerBatch,
    Math.max(1, w.batch?.max_events ?? LIMITS.maxEventsPerBatch),
  );
  return {
    webhookId: w.id,
    format: w.format,
    maxEvents,
    windowMs: w.batch?.window_ms ?? LIMITS.defaultWindowMs,
  };
}

export function batcherHandler(deps: BatcherDeps) {
  return (control: PartitionControl): PartitionHandler => {
    const acc = new WindowAccumulator({
      topic: control.topic,
      partition: control.partition,
      windowMs: deps.windowMs,
      maxBytes: deps.maxBytes,
    });
    deps.metrics.track(acc);
    const log = deps.logger.child({ topic: control.topic, partition: control.partition });
    let cancel: (() => void) | undefined;
    let timerAt: number | undefined;

    const toRecords = (batches: BatchRecord[]): OutputRecord[] =>
      batches.map((b) => {
        deps.metrics.produced(b);
        return { topic: deps.topics.batches, key: b.webhook_id, value: JSON.stringify(b) };
      });

    const toDlq = (letter: DeadLetterMessage): OutputRecord => ({ topic: deps.topics.dlq, ...letter.record });

    const endWindow = () => {
      cancel = undefined;
      timerAt = undefined;
      control
        .commit(async (tx) => {
          await tx.send(toRecords(acc.drain(deps.clock.now())));
        })
        .catch((error: unknown) =>
          log.warn({ err: error }, 'window commit failed; its records will be consumed again'),
        );
    };

    const schedule = () => {
      const at = acc.deadline();
      if (at === undefined || (timerAt !== undefined && timerAt <= at)) return;
      cancel?.();
      timerAt = at;
      cancel = deps.clock.schedule(endWindow, Math.max(0, at - deps.clock.now()));
    };

    return {
      onMessages: async (messages, tx, heartbeat) => {
        let out: OutputRecord[] = [];
        for (let i = 0; i < messages.length; i += 1) {
          const m = messages[i]!;
          const now = deps.clock.now();
          acc.touch(now);
          deps.metrics.consumed.inc();
          const parsed = parseDispatchRecord(m.value);
          if (!parsed.ok) {
            deps.metrics.deadLettered.inc({ reason: 'poison' });
            log.warn({ offset: m.offset, error: parsed.error }, 'undecodable dispatch record dead-lettered');
            out.push(toDlq(deadLetter('poison', control, m, null, parsed.error, now)));
            continue;
          }
          const webhook = deps.webhook(parsed.value.webhook_id);
          if (!webhook) {
            deps.metrics.deadLettered.inc({ reason: 'deleted' });
            out.push(toDlq(deadLetter('deleted', control, m, parsed.value, 'webhook was deleted', now)));
            continue;
          }
          for (const r of toRecords(acc.add(parsed.value, m.offset, settingsOf(webhook), now))) out.push(r);
          // Full batches leave at once, inside the open transaction: memory holds only open batches.
          if (out.length > 0) {
            await tx.send(out);
            out = [];
          }
          if (i > 0 && i % HEARTBEAT_EVERY === 0) await heartbeat();
        }
        if (acc.bytes > deps.maxBufferedBytes) {
          // Many webhooks each below their max: end the window now rather than hold more in memory.
          cancel?.();
          cancel = undefined;
          timerAt = undefined;
          for (const r of toRecords(acc.drain(deps.clock.now()))) out.push(r);
          await tx.send(out);
          return 'commit';
        }
        await tx.send(out);
        schedule();
        return 'hold';
      },
      reset: () => {
        cancel?.();
        cancel = undefined;
        timerAt = undefined;
        acc.reset();
      },
    };
  };
}
