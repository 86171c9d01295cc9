import { type Kafka, type SerialProducer, serialProducer } from '@hookpost/kafka';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { type EmailEvent, isEventType } from './catalog.ts';
import { AvroCodec } from './codec.ts';
import { registerSchema } from './registry.ts';
import { emailEventSchema, valueSubject } from './schemas.ts';

/** The event does not fit the catalog or the schema; `field` names the first offending path. */
export class InvalidEventError extends Error {
  readonly code = 'EVENT_INVALID';
  readonly field: string;

  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export interface MtaProducerOptions {
  kafka: Kafka;
  registry: SchemaRegistry;
  /** The registry's base URL (registration sets the subject's compatibility over HTTP first). */
  registryUrl: string;
  /** The events topic, `email.events` unless prefixed. */
  topic: string;
}

/**
 * What an MTA team imports to publish email events: validates each event against the catalog and
 * the Avro schema (a bad event is refused before it can become poison downstream), encodes it in
 * the Confluent wire format, keys it by domain id (so one domain's events stay in order) and sends
 * with an idempotent producer, one send at a time.
 */
export class MtaProducer {
  private readonly codec: AvroCodec<EmailEvent>;
  private readonly producer: SerialProducer;
  private schemaId = 0;

  private readonly options: MtaProducerOptions;

  constructor(options: MtaProducerOptions) {
    this.options = options;
    this.codec = new AvroCodec(options.registry, emailEventSchema());
    this.producer = serialProducer(options.kafka);
  }

  async connect(): Promise<void> {
    this.schemaId = await registerSchema(
      this.options.registry,
      this.options.registryUrl,
      valueSubject(this.options.topic),
      emailEventSchema(),
    );
    await this.producer.producer.connect();
  }

  encode(event: EmailEvent): Buffer {
    if (!isEventType(event.type))
      throw new InvalidEventError('type', `unknown event type "${String(event.type)}"`);
    const bad = this.codec.invalidPaths(event);
    if (bad)
      throw new InvalidEventError(
        bad[0] ?? '',
        `event ${event.id} does not fit the schema at ${bad.join(', ')}`,
      );
    return this.codec.encode(this.schemaId, event);
  }

  /** Resolves once the broker has acknowledged every event (acks=all). */
  async send(events: EmailEvent[]): Promise<void> {
    if (this.schemaId === 0) throw new Error('MtaProducer.send before connect');
    const messages = events.map((e) => ({
      key: e.domain_id,
      value: this.encode(e),
      timestamp: String(e.created_at),
    }));
    await this.producer.send(this.options.topic, messages);
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
