/**
 * Fixes to KafkaJS 2.2.4 (unmaintained), applied before KafkaJS loads. Import this module before
 * anything that loads 'kafkajs' (libs/kafka/src/index.ts does so first). The second, an idle request
 * queue's timer loop, is at the end of the file.
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

/**
 * KafkaJS's request queue (one per broker connection) re-arms a timer for every check of its pending
 * requests, pending or not, at `throttledUntil - now`: with no throttle that is negative, so Node runs
 * it after 1 ms, and the check re-arms it again (kafkajs#1556, #1704; the TimeoutNegativeWarning of
 * kafkajs#1751). Every connection of every client spun at ~1 000 wake-ups a second: in an idle
 * fan-out's profile the loop was 14-22 % of its CPU. Here a check is scheduled only while requests are
 * pending (push and every response check again anyway), at the end of the client-side throttle or
 * KafkaJS's 10 ms interval, as before: the marginal-throttle stall of kafkajs#1532 cannot return, since
 * a pending request always has a check scheduled.
 */
interface RequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}
const CHECK_PENDING_REQUESTS_INTERVAL = 10;
function scheduleCheckPendingRequests(this: RequestQueue): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL,
  );
}
const RequestQueueClass = require('kafkajs/src/network/requestQueue/index.js') as { prototype: RequestQueue };
RequestQueueClass.prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
