/**
 * The one producer of delivery outcomes (attempt records, retry records, dead letters). Many records
 * finish concurrently, but KafkaJS's idempotent producer must never have two send() calls in flight
 * (kafkajs#1005). So outcomes are queued and each send carries everything queued since the previous
 * one (group commit): throughput grows with concurrency instead of being capped at one outcome per
 * round trip. Sends start at least `lingerMs` apart (Kafka's linger.ms), so an outcome waits at most
 * that plus one round trip: at one event per request the outcomes came ~5 per produce request at
 * 1 000/s, and each request cost the broker and our socket more than its records (issue 15 point 3;
 * 5 -> 10 ms with completions committing at most every 100 ms: delivery 1 163 -> 1 340 batches/s in
 * the bench's max_events 1 phase, delivery CPU per request 600 -> 505 µs).
 */
import { type Kafka, type Message, type SerialProducer, serialProducer } from '@hookpost/kafka';

/** The least time between the starts of two sends, and what an outcome finding the producer idle waits. */
const OUTBOX_LINGER_MS = 10;

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

interface Pending {
  items: TopicMessages[];
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class Outbox {
  private readonly producer: SerialProducer;
  private queue: Pending[] = [];
  private sending = false;
  /** Bounds one send so a burst does not build a request bigger than the broker accepts. */
  private readonly maxPerSend: number;
  private readonly lingerMs: number;
  private linger: NodeJS.Timeout | undefined;
  private lastStart = Number.NEGATIVE_INFINITY;

  constructor(options: {
    kafka: Kafka;
    maxPerSend?: number;
    lingerMs?: number;
    /** For tests: the producer to send with (default: a serial idempotent producer of `kafka`). */
    producer?: Pick<SerialProducer, 'sendBatch' | 'disconnect'> & { producer: { connect(): Promise<void> } };
  }) {
    this.producer = (options.producer as SerialProducer | undefined) ?? serialProducer(options.kafka);
    this.maxPerSend = options.maxPerSend ?? 200;
    this.lingerMs = options.lingerMs ?? OUTBOX_LINGER_MS;
  }

  connect(): Promise<void> {
    return this.producer.producer.connect();
  }

  /** Resolves once every message is acknowledged by the broker (acks=all); rejects if that send failed. */
  send(items: TopicMessages[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (this.sending) return;
      if (this.lingerMs <= 0 || this.queue.length >= this.maxPerSend) this.start();
      else this.linger ??= setTimeout(() => this.start(), this.lingerMs);
    });
  }

  private start(): void {
    clearTimeout(this.linger);
    this.linger = undefined;
    if (!this.sending) void this.drain();
  }

  private async drain(): Promise<void> {
    this.sending = true;
    try {
      while (this.queue.length > 0) {
        // Sends start at least the linger apart (see above), unless a full request is queued. A timer
        // counts from the event loop's cached clock, so after a long tick it fires early: check again.
        for (;;) {
          const since = performance.now() - this.lastStart;
          if (this.queue.length >= this.maxPerSend || since >= this.lingerMs) break;
          await new Promise((r) => setTimeout(r, Math.ceil(this.lingerMs - since)));
        }
        this.lastStart = performance.now();
        const group = this.queue.splice(0, this.maxPerSend);
        const byTopic = new Map<string, Message[]>();
        for (const p of group)
          for (const { topic, messages } of p.items) {
            let list = byTopic.get(topic);
            if (!list) {
              list = [];
              byTopic.set(topic, list);
            }
            list.push(...messages);
          }
        try {
          await this.producer.sendBatch([...byTopic].map(([topic, messages]) => ({ topic, messages })));
          for (const p of group) p.resolve();
        } catch (error) {
          for (const p of group) p.reject(error);
        }
      }
    } finally {
      this.sending = false;
    }
  }

  async close(): Promise<void> {
    if (this.linger) this.start();
    while (this.sending || this.queue.length > 0) await new Promise((r) => setTimeout(r, 10));
    await this.producer.disconnect();
  }
}
