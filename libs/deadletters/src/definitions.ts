/**
 * Names of the dead-letter tooling in one place.
 *
 * The replay ledger is a topic of its own rather than an entry in libs/kafka's catalog: only this
 * library reads or writes it, so it is declared beside the code that owns it (same naming rule: the
 * environment's prefix, then `webhooks.dlq.replayed`), and provisioned by whoever replays.
 */
import type { TopicSpec } from '@hookpost/kafka';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `webhooks.dlq.replayed`: one record per replayed dead letter, keyed by dlq_id, compacted. A dead
 * letter whose id is in the ledger is not replayed again unless forced. Retention matches the DLQ's
 * (compaction keeps the latest per key; the DLQ itself expires its records).
 */
export function replayLedgerTopic(prefix = ''): TopicSpec {
  return {
    name: `${prefix}webhooks.dlq.replayed`,
    partitions: 3,
    config: {
      'cleanup.policy': 'compact',
      'min.compaction.lag.ms': '0',
      'delete.retention.ms': String(DAY_MS),
    },
    doc: 'Replay ledger: dlq_id -> when and where a dead letter was replayed; makes replays idempotent.',
  };
}

/** Headers on re-enqueued records, so a receiver-side or SRE trace can tell a replay from a first send. */
export const REPLAY_HEADERS = {
  replayOf: 'x-replay-of',
  replayedAt: 'x-replayed-at',
} as const;
