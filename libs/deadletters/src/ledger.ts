import { type LedgerEntry, parseLedgerEntry } from '@hookpost/contracts';
import type { Kafka, RecordSkipper } from '@hookpost/kafka';
import { readToEnd } from './read.ts';

export type { LedgerEntry };

/**
 * The dead letters already replayed, read from the compacted ledger topic, by id. An entry that is not a
 * ledger document (or whose id is not its key) is skipped through `skipper` (counted, logged): it is no
 * proof of a replay, so its dead letter stays replayable, and a replay repeated by mistake costs a
 * duplicate that receivers drop by webhook-id (batch ids are kept). A tombstone forgets the id.
 */
export async function readLedger(
  kafka: Kafka,
  topic: string,
  groupPrefix?: string,
  skipper?: RecordSkipper,
): Promise<Map<string, LedgerEntry>> {
  const entries = new Map<string, LedgerEntry>();
  await readToEnd({
    kafka,
    topic,
    groupPrefix,
    onMessage: (message, partition) => {
      const at = { topic, partition, offset: message.offset };
      const id = message.key?.toString('utf8');
      if (!id) {
        skipper?.skip(at, 'invalid', 'ledger record without a key');
        return;
      }
      if (message.value === null) {
        entries.delete(id);
        return;
      }
      const parsed = parseLedgerEntry(message.value);
      if (!parsed.ok) skipper?.skip(at, parsed.reason, parsed.error);
      else if (parsed.value.dlq_id !== id)
        skipper?.skip(at, 'invalid', 'ledger entry whose dlq_id is not its key');
      else entries.set(id, parsed.value);
    },
  });
  return entries;
}
