import { type SecretBox, sealWebhook, type Webhook } from '@hookpost/contracts';
import { type Kafka, type SerialProducer, serialProducer } from '@hookpost/kafka';

export interface WriteResult {
  partition: number;
  offset: number;
}

/**
 * Writes subscription documents (secrets sealed) and tombstones to the compacted topic, keyed by
 * webhook id. The returned partition/offset lets the writer wait for its own table to apply the
 * write (read-your-writes). Last writer wins per webhook; `version` orders documents.
 */
export class SubscriptionWriter {
  private readonly producer: SerialProducer;
  private readonly topic: string;
  private readonly box: SecretBox;

  constructor(options: { kafka: Kafka; topic: string; box: SecretBox }) {
    this.topic = options.topic;
    this.box = options.box;
    this.producer = serialProducer(options.kafka);
  }

  connect(): Promise<void> {
    return this.producer.producer.connect();
  }

  async put(webhook: Webhook): Promise<WriteResult> {
    const value = JSON.stringify(sealWebhook(this.box, webhook));
    return first(await this.producer.send(this.topic, [{ key: webhook.id, value }]));
  }

  async remove(id: string): Promise<WriteResult> {
    return first(await this.producer.send(this.topic, [{ key: id, value: null }]));
  }

  close(): Promise<void> {
    return this.producer.disconnect();
  }
}

function first(meta: { partition: number; baseOffset?: string; offset?: string }[]): WriteResult {
  const m = meta[0];
  if (!m) throw new Error('broker acknowledged no record');
  return { partition: m.partition, offset: Number(m.baseOffset ?? m.offset) };
}
