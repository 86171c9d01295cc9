import type { Kafka, Message, Producer, RecordMetadata } from 'kafkajs';
import { createProducer } from './client.ts';

/**
 * A producer whose sends never overlap. KafkaJS's idempotent producer can lose or reorder messages
 * when several send() calls are in flight at once (tulios/kafkajs#1005), so every send waits for the
 * previous one. Callers get batching by passing many messages per call, not by calling concurrently.
 */
export class SerialProducer {
  private tail: Promise<unknown> = Promise.resolve();

  readonly producer: Producer;

  constructor(producer: Producer) {
    this.producer = producer;
  }

  send(topic: string, messages: Message[]): Promise<RecordMetadata[]> {
    const run = this.tail.then(() => this.producer.send({ topic, messages }));
    this.tail = run.catch(() => undefined);
    return run;
  }

  sendBatch(topicMessages: { topic: string; messages: Message[] }[]): Promise<RecordMetadata[]> {
    const run = this.tail.then(() => this.producer.sendBatch({ topicMessages }));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async disconnect(): Promise<void> {
    await this.tail;
    await this.producer.disconnect();
  }
}

/**
 * The one way to make a producer for plain (non-transactional) writes: idempotent, one request in
 * flight (what KafkaJS's idempotence needs), sends serialised by SerialProducer.
 */
export function serialProducer(kafka: Kafka): SerialProducer {
  return new SerialProducer(createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 }));
}
