import { randomUUID } from 'node:crypto';
import { openWebhook, parseStoredWebhook, type SecretBox, type Webhook } from '@hookpost/contracts';
import { type Kafka, LogReader, lastOffsets } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import { Counter, Gauge, type Registry } from '@hookpost/metrics';

export interface SubscriptionTableOptions {
  kafka: Kafka;
  /** The compacted subscriptions topic. */
  topic: string;
  box: SecretBox;
  logger: Logger;
  metrics?: Registry;
  /** Prefix of the table's private consumer group (every instance reads every partition). */
  groupPrefix?: string;
}

export type ChangeListener = (
  id: string,
  current: Webhook | undefined,
  previous: Webhook | undefined,
) => void;

/** How long a reader meeting an unknown webhook waits for its table to catch up (settle) by default. */
const CATCH_UP_TIMEOUT_MS = 10_000;
/** Tombstoned ids remembered (settle answers for them at once); older ones cost a catch-up. */
const MAX_DELETED = 10_000;

interface Waiter {
  partition: number;
  offset: number;
  resolve: () => void;
}

interface VersionWaiter {
  version: number;
  reached: () => void;
}

/**
 * The webhook subscriptions, materialised in memory from the compacted topic (the source of truth),
 * indexed by domain and event type for fan-out. Every instance reads every partition: KafkaJS has no
 * manual assignment, so the table uses a consumer group of its own that never commits. `start()`
 * resolves only once the table has caught up with the end of the topic as it was at start-up, so a
 * service never serves from a half-loaded table. Changes apply within a fetch wait (100 ms).
 */
export class SubscriptionTable {
  private readonly options: SubscriptionTableOptions;
  private readonly byId = new Map<string, Webhook>();
  /** domain id -> event type -> webhook ids */
  private readonly index = new Map<string, Map<string, Set<string>>>();
  /** Highest offset applied per partition. */
  private readonly applied = new Map<number, number>();
  private readonly listeners = new Set<ChangeListener>();
  private waiters: Waiter[] = [];
  /** webhook id -> waiters for a version of it (waitForVersion); empty on the usual path. */
  private readonly versionWaiters = new Map<string, Set<VersionWaiter>>();
  private consumer: LogReader | undefined;
  private caughtUp = false;
  /** Ids whose tombstone this table applied, newest last, bounded: a lookup of one needs no catch-up. */
  private readonly deleted = new Set<string>();
  /** The catch-up under way, and the one that callers arriving meanwhile share (catchUp). */
  private catchingUp: Promise<boolean> | undefined;
  private nextCatchUp: Promise<boolean> | undefined;
  private readonly log: Logger;
  private readonly records?: Counter;
  private readonly count?: Gauge;

  constructor(options: SubscriptionTableOptions) {
    this.options = options;
    this.log = options.logger.child({ component: 'subscription-table', topic: options.topic });
    if (options.metrics) {
      this.records = new Counter({
        name: 'webhooks_subscription_records_total',
        help: 'Subscription topic records applied to the in-memory table, by result',
        labelNames: ['result'],
        registers: [options.metrics],
      });
      this.count = new Gauge({
        name: 'webhooks_subscriptions',
        help: 'Webhook subscriptions in the table, by status',
        labelNames: ['status'],
        registers: [options.metrics],
        collect: () => this.collectCounts(),
      });
    }
  }

  get ready(): boolean {
    return this.caughtUp;
  }

  get size(): number {
    return this.byId.size;
  }

  /** Loads the table; resolves when caught up with the topic's end as of now. */
  async start(timeoutMs = 60_000): Promise<void> {
    // The last record of each non-empty partition is what "caught up" means.
    const targets = await lastOffsets(this.options.kafka, this.options.topic, { timeoutMs });
    const loaded = Promise.all(
      [...targets].map(([partition, offset]) => this.waitForOffset(partition, offset, timeoutMs)),
    );
    // Supervised: a crashed reader is rebuilt and reads the topic again from the start (the group never
    // commits), handing on only records it had not handed on before.
    const consumer = new LogReader({
      kafka: this.options.kafka,
      name: 'subscriptions',
      logger: this.log,
      groupId: `${this.options.groupPrefix ?? 'hookpost'}-subscriptions-${randomUUID()}`,
      topics: [this.options.topic],
      onRecord: (_topic, partition, record) => this.apply(record.key, record.value, partition, record.offset),
      onProgress: (_topic, partition, offset) => this.advance(partition, offset),
    });
    this.consumer = consumer;
    await consumer.start();
    await loaded;
    this.caughtUp = true;
    this.log.info({ webhooks: this.byId.size }, 'subscription table caught up');
  }

  /** Whether its reader runs now (false while a crashed reader is rebuilt). */
  get running(): boolean {
    return this.consumer?.running ?? false;
  }

  async stop(): Promise<void> {
    await this.consumer?.stop();
    this.consumer = undefined;
  }

  get(id: string): Webhook | undefined {
    return this.byId.get(id);
  }

  all(): Webhook[] {
    return [...this.byId.values()];
  }

  /** Enabled webhooks of the domain subscribed to the type, whatever their status. */
  forEvent(domainId: string, type: string): Webhook[] {
    const ids = this.index.get(domainId)?.get(type);
    if (!ids) return [];
    const out: Webhook[] = [];
    for (const id of ids) {
      const w = this.byId.get(id);
      if (w?.enabled) out.push(w);
    }
    return out;
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Resolves once the table has applied the record at `offset` of `partition` (or later): after a
   * write, waiting on the producer's offset gives read-your-writes. Rejects after `timeoutMs`.
   */
  waitForOffset(partition: number, offset: number, timeoutMs = 10_000): Promise<void> {
    if ((this.applied.get(partition) ?? -1) >= offset) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(
          new Error(
            `subscription table did not reach ${this.options.topic}[${partition}]@${offset} within ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const waiter: Waiter = {
        partition,
        offset,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.waiters.push(waiter);
    });
  }

  /**
   * Resolves `true` once the table has applied everything the topic held when this was called (its
   * end then, asked of the broker), `false` if that took longer than `timeoutMs` or the broker could
   * not be asked. Callers that arrive while one catch-up is under way share the next one, which asks
   * for the end after they arrived: at most one is under way and one waiting, however many callers.
   */
  catchUp(timeoutMs = CATCH_UP_TIMEOUT_MS): Promise<boolean> {
    if (!this.catchingUp) {
      const run = this.catchUpOnce(timeoutMs);
      this.catchingUp = run;
      void run.finally(() => {
        if (this.catchingUp === run) this.catchingUp = undefined;
      });
      return run;
    }
    this.nextCatchUp ??= this.catchingUp.then(() => {
      this.nextCatchUp = undefined;
      return this.catchUp(timeoutMs);
    });
    return this.nextCatchUp;
  }

  /**
   * For a reader that meets a webhook id its table does not hold: the record may come from a service
   * whose own table read the webhook's creation first (every service reads the topic on its own), so
   * "deleted" is the verdict only once this table has read as far as the topic went. Resolves at once
   * when the table holds the webhook or applied its tombstone; else after a catch-up, `true` when that
   * completed (then every record read before this call is judged by a table that has seen what its
   * producer saw).
   */
  async settle(id: string, timeoutMs = CATCH_UP_TIMEOUT_MS): Promise<boolean> {
    if (this.byId.has(id) || this.deleted.has(id)) return false;
    return this.catchUp(timeoutMs);
  }

  private async catchUpOnce(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    try {
      const targets = await lastOffsets(this.options.kafka, this.options.topic, { timeoutMs });
      await Promise.all(
        [...targets].map(([partition, offset]) =>
          this.waitForOffset(partition, offset, Math.max(1, deadline - Date.now())),
        ),
      );
      return true;
    } catch (error) {
      this.log.warn({ err: error, timeoutMs }, 'subscription table could not catch up with the topic');
      return false;
    }
  }

  /**
   * Resolves `true` once the table holds `version` of the webhook or a later one, or its deletion (no
   * later version will come then; the caller looks again and finds it gone), and `false` after
   * `timeoutMs`. An aborted `signal` rejects with an AbortError. For a reader whose record says that
   * its producer saw a newer document than this table holds (a replay right after a resume).
   */
  waitForVersion(id: string, version: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if ((this.byId.get(id)?.version ?? -1) >= version) return Promise.resolve(true);
    if (signal?.aborted) return Promise.reject(abortError());
    return new Promise<boolean>((resolve, reject) => {
      let waiting = this.versionWaiters.get(id);
      if (!waiting) {
        waiting = new Set();
        this.versionWaiters.set(id, waiting);
      }
      const set = waiting;
      const settle = (outcome: boolean | Error) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set.delete(waiter);
        if (set.size === 0 && this.versionWaiters.get(id) === set) this.versionWaiters.delete(id);
        if (outcome instanceof Error) reject(outcome);
        else resolve(outcome);
      };
      const onAbort = () => settle(abortError());
      const timer = setTimeout(() => settle(false), timeoutMs);
      const waiter: VersionWaiter = { version, reached: () => settle(true) };
      set.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private advance(partition: number, offset: number): void {
    if ((this.applied.get(partition) ?? -1) >= offset) return;
    this.applied.set(partition, offset);
    if (this.waiters.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.partition === partition && w.offset <= offset) w.resolve();
      else still.push(w);
    }
    this.waiters = still;
  }

  private apply(key: Buffer | null, value: Buffer | null, partition: number, offset: string): void {
    const id = key?.toString('utf8');
    if (!id) {
      this.records?.inc({ result: 'invalid' });
      this.log.error({ partition, offset }, 'subscription record without a key ignored');
      return;
    }
    const previous = this.byId.get(id);
    let current: Webhook | undefined;
    if (value !== null) {
      const parsed = parseStoredWebhook(value);
      if (!parsed.ok || parsed.value.id !== id) {
        this.records?.inc({ result: 'invalid' });
        this.log.error(
          { webhookId: id, partition, offset, error: parsed.ok ? 'key and id differ' : parsed.error },
          'invalid subscription document ignored',
        );
        return;
      }
      try {
        current = openWebhook(this.options.box, parsed.value);
      } catch (error) {
        this.records?.inc({ result: 'undecryptable' });
        this.log.error(
          { webhookId: id, partition, offset, error: (error as Error).message },
          'subscription secrets could not be decrypted; check the encryption keys',
        );
        return;
      }
      // Compaction may replay an older document after a newer one only across a topic rewrite; never go back.
      if (previous && current.version < previous.version) {
        this.records?.inc({ result: 'stale' });
        return;
      }
    }
    if (previous) this.unindex(previous);
    if (current) {
      this.byId.set(id, current);
      this.indexWebhook(current);
      this.deleted.delete(id);
    } else {
      this.byId.delete(id);
      this.deleted.delete(id);
      this.deleted.add(id);
      if (this.deleted.size > MAX_DELETED) this.deleted.delete(this.deleted.values().next().value!);
    }
    this.records?.inc({ result: 'applied' });
    if (this.versionWaiters.size > 0) this.wakeVersionWaiters(id, current);
    for (const listener of this.listeners) {
      try {
        listener(id, current, previous);
      } catch (error) {
        this.log.error({ err: error, webhookId: id }, 'subscription change listener failed');
      }
    }
  }

  private wakeVersionWaiters(id: string, current: Webhook | undefined): void {
    const waiting = this.versionWaiters.get(id);
    if (!waiting) return;
    for (const w of [...waiting]) if (!current || current.version >= w.version) w.reached();
  }

  private indexWebhook(w: Webhook): void {
    let byType = this.index.get(w.domain_id);
    if (!byType) {
      byType = new Map();
      this.index.set(w.domain_id, byType);
    }
    for (const type of w.events) {
      let ids = byType.get(type);
      if (!ids) {
        ids = new Set();
        byType.set(type, ids);
      }
      ids.add(w.id);
    }
  }

  private unindex(w: Webhook): void {
    const byType = this.index.get(w.domain_id);
    if (!byType) return;
    for (const type of w.events) {
      const ids = byType.get(type);
      ids?.delete(w.id);
      if (ids?.size === 0) byType.delete(type);
    }
    if (byType.size === 0) this.index.delete(w.domain_id);
  }

  private collectCounts(): void {
    let active = 0;
    let suspended = 0;
    for (const w of this.byId.values()) {
      if (w.status === 'suspended') suspended += 1;
      else active += 1;
    }
    this.count?.set({ status: 'active' }, active);
    this.count?.set({ status: 'suspended' }, suspended);
  }
}

function abortError(): Error {
  const error = new Error('stopped while waiting for a webhook version in the subscription table');
  error.name = 'AbortError';
  return error;
}

/**
 * How every service opens its table: constructed and loaded, resolved only once caught up with the
 * topic (a half-loaded table never serves). The box is passed in because a service that also writes
 * (API, DLQ CLI, suspender) seals with the same keys. A start that fails stops the reader it began.
 */
export async function startSubscriptionTable(
  options: SubscriptionTableOptions & { timeoutMs?: number },
): Promise<SubscriptionTable> {
  const { timeoutMs, ...rest } = options;
  const table = new SubscriptionTable(rest);
  try {
    await table.start(timeoutMs);
  } catch (error) {
    await table.stop().catch(() => {});
    throw error;
  }
  return table;
}

/**
 * A stage that serves from the table (fan-out, batcher): ready while both are; on stop the runner
 * finishes first, then the table it reads from.
 */
export function servingFromTable(
  table: SubscriptionTable,
  runner: { readonly running: boolean; stop(): Promise<void> },
): { ready(): { ok: boolean; failing: string[] }; stop(): Promise<void> } {
  return {
    ready: () => {
      const failing = [
        ...(table.ready ? [] : ['subscription table not caught up']),
        ...(runner.running ? [] : ['input consumer not running']),
      ];
      return { ok: failing.length === 0, failing };
    },
    stop: async () => {
      await runner.stop();
      await table.stop();
    },
  };
}
