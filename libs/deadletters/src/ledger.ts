import type { Kafka } from '@hookpost/kafka';
import { readToEnd } from './read.ts';

/** One ledger record: the dead letter `dlq_id` was re-enqueued at `replayed_at` to `target`. */
export interface LedgerEntry {
  dlq_id: string;
  webhook_id: string | null;
  target: 'batches' | 'dispatch';
  replayed_at: number;
  /** Who replayed: `cli`, `api:<token name>`. */
  by: string;
}

/** The set of dead-letter ids already replayed, read from the compacted ledger topic. */
export async function readLedger(
  kafka: Kafka,
  topic: string,
  groupPrefix?: string,
): Promise<Map<string, LedgerEntry>> {
  const entries = new Map<string, LedgerEntry>();
  await readToEnd({
    kafka,
    topic,
    groupPrefix,
    onMessage: (message) => {
      const id = message.key?.toString('utf8');
      if (!id) return;
      if (message.value === null) {
        entries.delete(id);
        return;
      }
      try {
        entries.set(id, JSON.parse(message.value.toString('utf8')) as LedgerEntry);
      } catch {
        // An unreadable ledger entry still proves the replay happened.
        entries.set(id, { dlq_id: id, webhook_id: null, target: 'batches', replayed_at: 0, by: 'unknown' });
      }
    },
  });
  return entries;
}
