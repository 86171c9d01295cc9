/**
 * What the dead-letter queue holds, kept up to date by one consumer of the DLQ and the replay ledger
 * for the API's lifetime, so the dead-letters and overview pages do not read the whole DLQ per visit
 * (that was seconds at a few thousand records). Per webhook: counts by reason and the newest
 * `keepPerWebhook` records; for all: totals by reason and the times of the last 24 h. The ledger gives
 * each record's replay time.
 *
 * A read waits until the consumer has reached the end of both topics as of the request (one offsets
 * request per topic, no records read), so the pages read their writes: a replay's ledger entries and
 * a dead letter written before the request are in the answer.
 *
 * Limits: the index lives in memory (a few hundred bytes a kept record, plus the ledger's ids); records
 * the DLQ's retention deletes stay counted until the API restarts.
 */
import { randomUUID } from 'node:crypto';
import { parseDeadLetter, parseLedgerEntry } from '@hookpost/contracts';
import { eventCount } from '@hookpost/deadletters';
import { type Kafka, type KafkaRecord, LogReader, OffsetsClient } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import { Counter, type Registry } from '@hookpost/metrics';
import { DeadLetterBook } from './dead-letter-book.ts';

export interface DeadLetterIndexOptions {
  kafka: Kafka;
  dlqTopic: string;
  ledgerTopic: string;
  groupPrefix: string;
  logger: Logger;
  metrics?: Registry;
  keepPerWebhook?: number;
  /** How long a read waits for the consumer to reach the topics' ends before answering as it is. */
  catchUpMs?: number;
}

export class DeadLetterIndex {
  readonly book: DeadLetterBook;
  private readonly o: DeadLetterIndexOptions;
  private readonly consumer: LogReader;
  private readonly offsets: OffsetsClient;
  /** Highest offset handled per `topic:partition` (records and transaction markers). */
  private readonly position = new Map<string, number>();
  private readonly counted?: Counter<'topic'>;
  /** Records read from the topics since start (every record once, whatever the number of visits). */
  recordsRead = 0;

  constructor(options: DeadLetterIndexOptions) {
    this.o = options;
    this.book = new DeadLetterBook(options.keepPerWebhook ?? 500);
    this.offsets = new OffsetsClient(options.kafka);
    if (options.metrics)
      this.counted = new Counter({
        name: 'webhooks_api_dead_letter_index_records_total',
        help: 'Records of the DLQ and the replay ledger read into the API’s dead-letter index',
        labelNames: ['topic'],
        registers: [options.metrics],
      });
    const log = options.logger.child({ component: 'dead-letter-index' });
    // A private group that never commits: every instance reads every partition from the start; a
    // rebuilt reader hands each record on once, and markers count towards the position.
    this.consumer = new LogReader({
      kafka: options.kafka,
      name: 'api-dead-letters',
      logger: log,
      groupId: `${options.groupPrefix}-dlq-index-${randomUUID()}`,
      topics: [options.dlqTopic, options.ledgerTopic],
      onRecord: (topic, partition, record) => {
        this.apply(topic, record);
        this.advance(topic, partition, Number(record.offset));
      },
      onProgress: (topic, partition, offset) => this.advance(topic, partition, offset),
    });
  }

  private advance(topic: string, partition: number, offset: number) {
    const key = `${topic}:${partition}`;
    if (offset > (this.position.get(key) ?? -1)) this.position.set(key, offset);
  }

  private apply(topic: string, message: KafkaRecord) {
    this.recordsRead += 1;
    this.counted?.inc({ topic });
    if (topic === this.o.ledgerTopic) {
      const id = message.key?.toString('utf8');
      if (!id) return;
      if (message.value === null) return this.book.unreplay(id);
      // As readLedger has it: only a valid entry under its own id proves the replay happened.
      const entry = parseLedgerEntry(message.value);
      if (!entry.ok || entry.value.dlq_id !== id) return;
      const at = entry.value.replayed_at;
      return this.book.replayed(id, at);
    }
    const parsed = parseDeadLetter(message.value);
    if (!parsed.ok) return this.book.unreadable();
    const l = parsed.value;
    this.book.add({
      dlq_id: l.dlq_id,
      webhook_id: l.webhook_id,
      reason: l.reason,
      dead_at: l.dead_at,
      events: eventCount(l),
      attempts: l.attempts.length,
      batch_id: l.batch?.batch_id ?? null,
      error: l.error,
    });
  }

  async start(): Promise<void> {
    await this.offsets.connect();
    await this.consumer.start();
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.offsets.disconnect();
  }

  /** Resolves once both topics are read up to their ends as of the call (or `catchUpMs` passed). */
  async caughtUp(): Promise<boolean> {
    const targets: [string, number][] = [];
    for (const topic of [this.o.dlqTopic, this.o.ledgerTopic])
      for (const [partition, end] of await this.offsets.last(topic, { timeoutMs: 0 }))
        targets.push([`${topic}:${partition}`, end]);
    const deadline = Date.now() + (this.o.catchUpMs ?? 5_000);
    for (;;) {
      if (targets.every(([key, end]) => (this.position.get(key) ?? -1) >= end)) return true;
      if (Date.now() > deadline) {
        this.o.logger.warn(
          { component: 'dead-letter-index' },
          'dead-letter index behind; answering as it is',
        );
        return false;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
