import {
  type DispatchRecord,
  type EventDispatchRecord,
  isFramedBatch,
  isFramedDispatch,
  parseBatchRecord,
  parseDispatchInput,
  payloadText,
} from '@hookpost/contracts';
import type { EmailEvent } from '@hookpost/events';
import { MtaProducer } from '@hookpost/events';
import { readTopics } from '@hookpost/kafka';
import type { TestEnv } from './env.ts';
import { uniq } from './env.ts';
import { emailEvents } from './factories.ts';

export interface Tailed<T> {
  key: string | null;
  value: T;
  partition: number;
  offset: string;
  headers: Record<string, string>;
}

export interface Tail<T> {
  /** Fills as records arrive. */
  readonly records: Tailed<T>[];
  values(): T[];
  close(): Promise<void>;
}

/**
 * The tests' one topic reader: reads `topic` from the beginning into `records` as they arrive, in a
 * private group that never commits. Values are parsed as JSON (a framed batch record, as the batcher
 * writes them, through delivery's reader, into a plain BatchRecord), or kept as UTF-8 text with `raw`.
 * read_committed unless asked (a read_uncommitted tail also shows open and aborted transactions).
 */
export async function tail<T>(
  env: TestEnv,
  topic: string,
  options: { readUncommitted?: boolean; raw?: boolean } = {},
): Promise<Tail<T>> {
  const records: Tailed<T>[] = [];
  const reader = await readTopics(env.kafka, {
    groupId: uniq('tail'),
    topics: [topic],
    maxWaitTimeInMs: 50,
    readUncommitted: options.readUncommitted ?? false,
    autoCommit: false,
    eachMessage: ({ message, partition }) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = String(v);
      const text = message.value?.toString('utf8') ?? 'null';
      records.push({
        key: message.key?.toString() ?? null,
        value: (options.raw ? text : decode(message.value, text)) as T,
        partition,
        offset: message.offset,
        headers,
      });
    },
  });
  return { records, values: () => records.map((r) => r.value), close: () => reader.stop() };
}

/**
 * A record's value as a document: a framed batch record through parseBatchRecord, a framed dispatch
 * record through parseDispatchInput (the readers delivery and the batcher use), anything else as JSON.
 */
function decode(value: Buffer | null, text: string): unknown {
  if (value && isFramedDispatch(value)) {
    const r = parseDispatchInput(value);
    if (!r.ok) throw new Error(`tail: a framed dispatch record that does not read: ${r.error}`);
    const v = r.value;
    // The framed form carries data as the record's bytes (checked, not parsed): a test reads them.
    if (v.kind === 'event' && v.dataBytes)
      return { ...v.record, data: JSON.parse(v.dataBytes.toString('utf8')) };
    return { ...v.record };
  }
  if (!value || !isFramedBatch(value)) return JSON.parse(text);
  const r = parseBatchRecord(value);
  if (!r.ok) throw new Error(`tail: a framed batch record that does not read: ${r.error}`);
  return { ...r.value };
}

/** An MTA producer for the test's events topic plus an event factory for one domain and type. */
export async function mta(env: TestEnv) {
  const producer = new MtaProducer({
    kafka: env.kafka,
    registry: env.registry,
    registryUrl: env.registryUrl,
    topic: env.catalog.topics.events.name,
  });
  await producer.connect();
  const gens = new Map<string, () => EmailEvent>();
  const make = (
    domain: string,
    type: EmailEvent['type'],
    overrides: Partial<EmailEvent> = {},
  ): EmailEvent => {
    const k = `${domain}|${type}`;
    let g = gens.get(k);
    if (!g) {
      g = emailEvents(domain, type, gens.size + 1);
      gens.set(k, g);
    }
    return { ...g(), ...overrides };
  };
  return { producer, make };
}

/**
 * The fan-out's per-event dispatch records read as one per-webhook DispatchRecord per (event, webhook),
 * each payload rendered as the batcher renders it (key, partition and offset stay the event record's).
 */
export function dispatchPairs(records: Tailed<EventDispatchRecord>[]): Tailed<DispatchRecord>[] {
  return records.flatMap((r) => {
    const dataJson = JSON.stringify(r.value.data);
    return r.value.webhooks.map((w) => ({
      ...r,
      value: {
        event_id: r.value.event_id,
        webhook_id: w.id,
        type: r.value.type,
        event_created_at: r.value.event_created_at,
        dispatched_at: r.value.dispatched_at,
        payload: JSON.parse(payloadText(r.value, w, dataJson)) as Record<string, unknown>,
      },
    }));
  });
}
