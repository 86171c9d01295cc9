import { randomUUID } from 'node:crypto';
import type { Webhook } from '@hookpost/contracts';
import { createProducer, type Kafka, type RecordSkipper, waitForOffsets } from '@hookpost/kafka';
import { REPLAY_HEADERS } from './definitions.ts';
import { type StoredDeadLetter, scanDeadLetters } from './dlq.ts';
import { readLedger } from './ledger.ts';
import {
  type DeadLetterFilter,
  decide,
  eventCount,
  ledgerEntry,
  replayMessages,
  type SkipReason,
} from './select.ts';

interface ReplayTopics {
  dlq: string;
  batches: string;
  dispatch: string;
  ledger: string;
}

interface ReplayProgress {
  done: number;
  total: number;
  replayed: number;
  elapsedMs: number;
  /** Estimated time left, null until the first chunk is through. */
  etaMs: number | null;
}

export interface ReplayOptions {
  kafka: Kafka;
  topics: ReplayTopics;
  filter: DeadLetterFilter;
  /** The current document of a webhook (a caught-up subscription table). */
  lookup: (id: string) => Webhook | undefined;
  /** When given, suspended target webhooks are resumed (before anything is re-enqueued). */
  resume?: (id: string) => Promise<void>;
  dryRun?: boolean;
  /** Replay records already in the ledger again. */
  force?: boolean;
  /** Dead letters per second; 0 or absent = as fast as the broker takes them. */
  ratePerSec?: number;
  /** Recorded in the ledger: `cli`, `api:<token>`. */
  by: string;
  groupPrefix?: string;
  /** Where invalid DLQ and ledger records are skipped (counted, logged); without it they are only counted in the report. */
  skipper?: RecordSkipper;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  onProgress?: (progress: ReplayProgress) => void;
  /** Called once what will be replayed and skipped is known, before anything is sent. */
  onPlan?: (report: ReplayReport) => void;
  signal?: AbortSignal;
}

interface ReplayItem {
  dlq_id: string;
  webhook_id: string | null;
  reason: string;
  dead_at: number;
  events: number;
  /** `batches` / `dispatch` when (to be) replayed, else the skip reason. */
  outcome: 'batches' | 'dispatch' | SkipReason;
}

export interface ReplayReport {
  dryRun: boolean;
  matched: number;
  /** Dead letters re-enqueued (in a dry run: that would be). */
  replayed: number;
  events: number;
  skipped: Record<SkipReason, number>;
  /** Webhooks resumed first (in a dry run: that a real replay would need resumed). */
  resumed: string[];
  unreadable: number;
  items: ReplayItem[];
}

export type ReplayResult =
  | { ok: true; report: ReplayReport }
  /** Nothing was replayed: some targets are suspended and resuming was not asked for. */
  | { ok: false; code: 'webhook_suspended'; webhooks: string[]; report: ReplayReport };

const sleeper = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Re-enqueues dead letters. Each dead letter is replayed at most once (unless forced): the re-enqueued
 * records and the ledger entry are produced in one Kafka transaction, so a crash mid-way never leaves
 * a replayed record without its ledger entry or the reverse, and the next run picks up exactly where
 * this one stopped. Batches keep their batch_id, body and event ids (receivers dedupe on them) and go
 * to the main delivery topic, which starts them at attempt 1.
 *
 * Two replays running at the same moment over the same range could both pass the ledger check; the
 * ledger protects sequential runs (the SRE's "run it again"), and receivers' dedupe covers the rest.
 */
export async function replay(options: ReplayOptions): Promise<ReplayResult> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? sleeper;
  const [scan, ledger] = await Promise.all([
    scanDeadLetters(options.kafka, options.topics.dlq, options.filter, options.groupPrefix, options.skipper),
    readLedger(options.kafka, options.topics.ledger, options.groupPrefix, options.skipper),
  ]);
  const replayed = new Set(ledger.keys());
  const skipped: Record<SkipReason, number> = {
    already_replayed: 0,
    not_replayable: 0,
    webhook_missing: 0,
    webhook_suspended: 0,
  };
  // Which targets are suspended decides whether the run may go ahead at all.
  const suspended = new Set<string>();
  for (const { letter } of scan.letters) {
    const d = decide(letter, {
      replayed,
      force: options.force ?? false,
      lookup: options.lookup,
      resuming: new Set(),
    });
    if (!d.ok && d.skip === 'webhook_suspended' && letter.webhook_id) suspended.add(letter.webhook_id);
  }
  // A dry run is what an SRE runs while the webhook is suspended, to see what a replay with resume would
  // do: it reports the suspended targets as to be resumed instead of refusing.
  const resuming = options.resume || options.dryRun ? suspended : new Set<string>();
  const items: ReplayItem[] = [];
  const todo: { stored: StoredDeadLetter; target: 'batches' | 'dispatch' }[] = [];
  let events = 0;
  for (const stored of scan.letters) {
    const dl = stored.letter;
    const d = decide(dl, { replayed, force: options.force ?? false, lookup: options.lookup, resuming });
    const item: ReplayItem = {
      dlq_id: dl.dlq_id,
      webhook_id: dl.webhook_id,
      reason: dl.reason,
      dead_at: dl.dead_at,
      events: eventCount(dl),
      outcome: d.ok ? d.target : d.skip,
    };
    items.push(item);
    if (d.ok) {
      todo.push({ stored, target: d.target });
      events += item.events;
    } else skipped[d.skip] += 1;
  }
  const report: ReplayReport = {
    dryRun: options.dryRun ?? false,
    matched: scan.letters.length,
    replayed: todo.length,
    events,
    skipped,
    resumed: [...resuming],
    unreadable: scan.unreadable.length,
    items,
  };
  if (suspended.size > 0 && !options.resume && !options.dryRun)
    return {
      ok: false,
      code: 'webhook_suspended',
      webhooks: [...suspended],
      report: { ...report, replayed: 0, events: 0 },
    };
  if (options.dryRun) return { ok: true, report };
  options.onPlan?.({ ...report });

  for (const id of resuming) await options.resume?.(id);
  report.replayed = 0;
  report.events = 0;
  if (todo.length === 0) return { ok: true, report };

  const producer = createProducer(options.kafka, {
    transactionalId: `${options.groupPrefix ?? 'hookpost'}-dlq-replay-${randomUUID()}`,
    idempotent: true,
    maxInFlightRequests: 1,
  });
  await producer.connect();
  /** Last ledger offset written per partition, to wait for before returning. */
  const ledgerEnd = new Map<number, number>();
  try {
    const rate = options.ratePerSec ?? 0;
    const chunkSize = rate > 0 ? Math.max(1, Math.min(100, Math.ceil(rate / 5))) : 100;
    const started = now();
    for (let i = 0; i < todo.length; i += chunkSize) {
      if (options.signal?.aborted) break;
      const chunk = todo.slice(i, i + chunkSize);
      const at = now();
      const tx = await producer.transaction();
      try {
        const byTopic = new Map<string, ReturnType<typeof replayMessages>>();
        const ledgerMessages = [];
        for (const { stored, target } of chunk) {
          const topic = target === 'batches' ? options.topics.batches : options.topics.dispatch;
          const list = byTopic.get(topic) ?? [];
          // Looked up now, after any resume above: the version delivery must have read before it judges.
          const version = stored.letter.webhook_id
            ? options.lookup(stored.letter.webhook_id)?.version
            : undefined;
          list.push(...replayMessages(stored.letter, at, REPLAY_HEADERS, version));
          byTopic.set(topic, list);
          const entry = ledgerEntry(stored.letter, target, at, options.by);
          ledgerMessages.push({ key: entry.dlq_id, value: JSON.stringify(entry) });
        }
        const written = await tx.sendBatch({
          topicMessages: [
            ...[...byTopic].map(([topic, messages]) => ({ topic, messages })),
            { topic: options.topics.ledger, messages: ledgerMessages },
          ],
        });
        await tx.commit();
        // The chunk's ledger entries are spread over the ledger's partitions by key, and a partition's
        // metadata gives only where its share starts, not how many it got. Adding the chunk's whole count
        // to each partition's base aimed past the end, so the wait below never finished at scale. The
        // base offset is enough: once it is readable, the transaction's marker on that partition is
        // written, and with it every entry of this chunk there.
        for (const m of written) {
          if (m.topicName !== options.topics.ledger) continue;
          const first = Number(m.baseOffset);
          ledgerEnd.set(m.partition, Math.max(ledgerEnd.get(m.partition) ?? -1, first));
        }
      } catch (error) {
        await tx.abort().catch(() => {});
        throw error;
      }
      report.replayed += chunk.length;
      for (const { stored } of chunk) report.events += eventCount(stored.letter);
      const elapsed = now() - started;
      options.onProgress?.({
        done: report.replayed,
        total: todo.length,
        replayed: report.replayed,
        elapsedMs: elapsed,
        etaMs: Math.round((elapsed / report.replayed) * (todo.length - report.replayed)),
      });
      if (rate > 0) {
        const due = started + (report.replayed / rate) * 1000;
        const wait = due - now();
        if (wait > 0 && i + chunkSize < todo.length) await sleep(wait);
      }
    }
  } finally {
    await producer.disconnect();
  }
  await ledgerVisible(options.kafka, options.topics.ledger, ledgerEnd);
  return { ok: true, report };
}

/**
 * A commit returns before the broker has written its markers, and until then read_committed readers
 * (and the offsets they aim for) stop short of the transaction. Return only once the ledger entries
 * are readable, so a replay run right after this one sees them and skips what was done.
 */
async function ledgerVisible(kafka: Kafka, topic: string, ends: Map<number, number>, timeoutMs = 15_000) {
  if (ends.size === 0) return;
  // `high` is the last stable offset: the ledger is readable once it is past every entry written.
  await waitForOffsets(
    kafka,
    topic,
    (offsets) => {
      const stable = new Map(offsets.map((o) => [o.partition, o.high]));
      return [...ends].every(([p, last]) => (stable.get(p) ?? 0) > last);
    },
    { timeoutMs },
  );
}
