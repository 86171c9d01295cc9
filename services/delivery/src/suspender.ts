/**
 * The DLQ triggers suspension: a dead letter with reason `exhausted` or `gone` sets its webhook to
 * `suspended` in the subscriptions topic and tells the owner through webhooks.operational.
 *
 * Order matters for "at least once" of the notice: the notice is produced first, then the webhook is
 * written, then the DLQ offset commits (after the handler). A crash in between replays the dead letter;
 * the webhook is then still active, so both steps run again (a duplicate notice, never a lost one).
 * Once the write is applied (read-your-writes through the table) later dead letters of the same
 * webhook find it suspended and change nothing.
 */
import { type DeadLetter, parseDeadLetter, type Webhook } from '@hookpost/contracts';
import {
  type GroupMemberSettings,
  type Kafka,
  LogReader,
  type RecordSkipper,
  type SerialProducer,
  serialProducer,
  type TopicCatalog,
} from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import { type SubscriptionTable, type SubscriptionWriter, writeThrough } from '@hookpost/subscriptions';
import { suspend, suspendedNotice } from './domain/records.ts';
import type { DeliveryMetrics } from './metrics.ts';

/** Dead-letter reasons that suspend the webhook. */
const SUSPENDING_REASONS: ReadonlySet<string> = new Set(['exhausted', 'gone']);

export interface SuspenderOptions extends GroupMemberSettings {
  kafka: Kafka;
  catalog: TopicCatalog;
  table: SubscriptionTable;
  writer: SubscriptionWriter;
  metrics: DeliveryMetrics;
  /** Invalid dead letters are skipped through it (counted, logged): the DLQ is not a work topic. */
  skipper: RecordSkipper;
  logger: Logger;
  now: () => number;
}

export class Suspender {
  private readonly o: SuspenderOptions;
  private readonly log: Logger;
  private readonly consumer: LogReader;
  private readonly producer: SerialProducer;
  private running = false;

  constructor(options: SuspenderOptions) {
    this.o = options;
    this.log = options.logger.child({ component: 'suspender' });
    // The group commits what it handled: each dead letter once its steps are acknowledged.
    this.consumer = new LogReader({
      kafka: options.kafka,
      name: 'delivery-suspender',
      logger: this.log,
      group: options,
      topics: [options.catalog.topics.dlq.name],
      onRecord: async (topic, partition, record) => {
        const parsed = parseDeadLetter(record.value);
        if (parsed.ok) await this.onDeadLetter(parsed.value);
        else this.o.skipper.skip({ topic, partition, offset: record.offset }, parsed.reason, parsed.error);
      },
    });
    this.producer = serialProducer(options.kafka);
  }

  get ready(): boolean {
    return this.running && this.consumer.running;
  }

  async start(): Promise<void> {
    await this.producer.producer.connect();
    await this.consumer.start();
    this.running = true;
  }

  async onDeadLetter(letter: DeadLetter): Promise<void> {
    if (!SUSPENDING_REASONS.has(letter.reason) || !letter.webhook_id) return;
    const current = this.o.table.get(letter.webhook_id);
    if (!current || current.status === 'suspended') return;
    const now = this.o.now();
    const counts = {
      events: letter.batch?.event_ids.length ?? 0,
      attempts: letter.attempts.length,
    };
    const notice = suspendedNotice(current, letter.reason, counts, now);
    await this.producer.send(this.o.catalog.topics.operational.name, [
      { key: current.id, value: JSON.stringify(notice) },
    ]);
    await this.write(suspend(current, letter.reason, now));
    this.o.metrics.suspensions.inc({ reason: letter.reason });
    this.log.warn(
      {
        webhookId: current.id,
        accountId: current.account_id,
        reason: letter.reason,
        counts,
        dlqId: letter.dlq_id,
      },
      'webhook.suspended',
    );
  }

  private async write(webhook: Webhook): Promise<void> {
    await writeThrough(this.o, (w) => w.put(webhook));
  }

  async stop(): Promise<void> {
    await this.consumer.stop();
    await this.producer.disconnect();
    this.running = false;
  }
}
