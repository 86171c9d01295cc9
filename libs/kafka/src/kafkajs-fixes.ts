/**
 * A fix to KafkaJS 2.2.4 (unmaintained), applied before KafkaJS loads. Import this module before
 * anything that loads 'kafkajs' (libs/kafka/src/index.ts does so first).
 *
 * KafkaJS's read_committed filter (src/consumer/filterAbortedMessages.js) activates at most ONE aborted
 * transaction per record it looks at. When a fetch starts inside several aborted transactions of
 * different producers — exactly what a killed exactly-once stage leaves behind, with one transactional
 * producer per input partition writing into the same output partition — the records of the second
 * producer's aborted transaction are handed to the application as if committed. Downstream that is a
 * duplicate (found by the SIGKILL test of the fan-out: 61 duplicate pairs). This version activates every
 * aborted transaction that started at or before the record, as the Java consumer does, and also sorts
 * the broker's list by first offset rather than trusting its order.
 */
import { createRequire } from 'node:module';

interface AbortedTransaction {
  producerId: string;
  firstOffset: string;
}

interface FetchedMessage {
  offset: string;
  key: Buffer | null;
  isControlRecord?: boolean;
  batchContext: { producerId: string; inTransaction: boolean };
}

const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

/** Drops records of aborted transactions; keeps control records (KafkaJS removes them afterwards). */
export function filterAbortedMessages(input: {
  messages: FetchedMessage[];
  abortedTransactions?: AbortedTransaction[];
}): FetchedMessage[] {
  const { messages, abortedTransactions } = input;
  if (!abortedTransactions || abortedTransactions.length === 0) return messages;
  const pending = [...abortedTransactions].sort((a, b) => compare(a.firstOffset, b.firstOffset));
  const aborting = new Set<string>();
  return messages.filter((message) => {
    while (pending.length > 0 && compare(pending[0]!.firstOffset, message.offset) <= 0) {
      aborting.add(String(pending.shift()!.producerId));
    }
    const producerId = String(message.batchContext.producerId);
    if (message.isControlRecord && message.key && Buffer.from(message.key).equals(ABORT_MARKER_KEY)) {
      // The abort marker ends that producer's aborted transaction; later records of it may be committed.
      aborting.delete(producerId);
      return true;
    }
    return !(message.batchContext.inTransaction && aborting.has(producerId));
  });
}

function compare(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

const require = createRequire(import.meta.url);
const batchPath = require.resolve('kafkajs/src/consumer/batch.js');
if (require.cache[batchPath]) {
  throw new Error(
    'kafkajs was loaded before @hookpost/kafka could fix its read_committed filter; import @hookpost/kafka first',
  );
}
const filterPath = require.resolve('kafkajs/src/consumer/filterAbortedMessages.js');
require(filterPath);
require.cache[filterPath]!.exports = filterAbortedMessages;
