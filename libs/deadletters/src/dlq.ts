import { type DeadLetter, parseDeadLetter } from '@hookpost/contracts';
import type { Kafka, RecordSkipper } from '@hookpost/kafka';
import { readToEnd } from './read.ts';
import { type DeadLetterFilter, matches } from './select.ts';

export interface StoredDeadLetter {
  letter: DeadLetter;
  partition: number;
  offset: string;
}

export interface DeadLetterScan {
  letters: StoredDeadLetter[];
  /** DLQ records that are not dead-letter documents (counted, never fatal: the DLQ must stay readable). */
  unreadable: { partition: number; offset: string; error: string }[];
}

/**
 * Reads the whole DLQ topic as of now and keeps the records the filter matches, oldest first. A record
 * that is not a dead-letter document is listed in `unreadable` and skipped through `skipper` (counted,
 * logged); the scan goes on.
 */
export async function scanDeadLetters(
  kafka: Kafka,
  topic: string,
  filter: DeadLetterFilter = {},
  groupPrefix?: string,
  skipper?: RecordSkipper,
): Promise<DeadLetterScan> {
  const scan: DeadLetterScan = { letters: [], unreadable: [] };
  await readToEnd({
    kafka,
    topic,
    groupPrefix,
    onMessage: (message, partition) => {
      const parsed = parseDeadLetter(message.value);
      if (!parsed.ok) {
        scan.unreadable.push({ partition, offset: message.offset, error: parsed.error });
        skipper?.skip({ topic, partition, offset: message.offset }, parsed.reason, parsed.error);
        return;
      }
      if (matches(parsed.value, filter))
        scan.letters.push({ letter: parsed.value, partition, offset: message.offset });
    },
  });
  scan.letters.sort((a, b) => a.letter.dead_at - b.letter.dead_at);
  return scan;
}
