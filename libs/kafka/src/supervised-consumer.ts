/**
 * The one rule for every consumer in the product: a consumer never stays stopped unless we stopped it.
 *
 * KafkaJS 2.2.4 reports a failed consumer loop with a CRASH event. With `restart: true` it restarts the
 * loop itself after a delay; with `restart: false` (any error whose cause is not retriable, e.g.
 * "Failed to find group coordinator" after a broker outage) it has already disconnected and does
 * nothing more: the process stays up, fetches nothing, and — before this — still looked ready. A
 * SupervisedConsumer owns every restart instead (KafkaJS's own is switched off): after any crash, a
 * STOP nobody asked for, or a rebuild that rejects, it builds a fresh KafkaJS consumer (same group,
 * same setup) with capped backoff,
 * calling the owner's `onReset` first so per-partition state built against the dead consumer is
 * dropped (its work can no longer commit; the next assignment starts from committed offsets).
 *
 * It also says whether it is alive: `up` while a run loop is active, and the time of the loop's last
 * sign of life (fetch start, heartbeat, end of a batch). `live()` fails when it has been down, or its
 * loop silent while it owns partitions, for longer than `stallMs`; the ops server's /healthz uses it so
 * the orchestrator restarts a process whose consumer cannot be brought back.
 */
import type { Logger } from '@hookpost/logger';
import type { Consumer, ConsumerConfig, Kafka } from 'kafkajs';

export interface SupervisedConsumerOptions {
  kafka: Kafka;
  /** A fixed, bounded name (metric label): `fanout`, `delivery-main`, `subscriptions`, ... */
  name: string;
  logger: Logger;
  /** The KafkaJS config; a function is asked again for every build (e.g. a fresh private group). */
  config: ConsumerConfig | (() => ConsumerConfig);
  /** Registers listeners, connects, subscribes and calls run() on a fresh consumer; called once per build. */
  setup: (consumer: Consumer) => Promise<void>;
  /** Called before a rebuild: drop state tied to the old consumer (trackers, workers, assignment). */
  onReset?: () => void | Promise<void>;
  /** Down or silent (while owning partitions) for longer than this: not live. */
  stallMs?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/**
 * What a service sets for one member of a consumer group; delivery's main, tier and suspender consumers
 * take the same settings (DELIVERY_MAX_WAIT_TIME_MS, _SESSION_TIMEOUT_MS, _HEARTBEAT_INTERVAL_MS).
 */
export interface GroupMemberSettings {
  groupId: string;
  maxWaitTimeMs: number;
  /** KafkaJS's 30 s default holds a dead member's partitions for 30 s (e.g. after a broker restart). */
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

/** The KafkaJS config of such a member: KafkaJS's own defaults unless set; topics are never auto-created. */
export function memberConfig(settings: GroupMemberSettings): ConsumerConfig {
  return {
    groupId: settings.groupId,
    maxWaitTimeInMs: settings.maxWaitTimeMs,
    sessionTimeout: settings.sessionTimeoutMs ?? 30_000,
    heartbeatInterval: settings.heartbeatIntervalMs ?? 3_000,
    allowAutoTopicCreation: false,
  };
}

export interface ConsumerState {
  name: string;
  up: boolean;
  /** Epoch ms of the last sign of life of the loop (or of the last (re)build). */
  lastActivityAt: number;
  /** Epoch ms since when it is down, or undefined. */
  downSince: number | undefined;
  rebuilds: number;
  live: boolean;
}

const ACTIVE = new Set<SupervisedConsumer>();
/** Rebuilds per consumer name since the process started; only ever grows (a counter's source). */
const REBUILDS = new Map<string, number>();

/** States of every supervised consumer of this process (for /healthz, /readyz and metrics). */
export function consumerStates(now = Date.now()): ConsumerState[] {
  return [...ACTIVE].map((c) => c.state(now));
}

/** Rebuilds per consumer name since the process started, stopped consumers included (never decreases). */
export function consumerRebuilds(): ReadonlyMap<string, number> {
  return REBUILDS;
}

export class SupervisedConsumer {
  private readonly o: SupervisedConsumerOptions;
  private readonly log: Logger;
  private current: Consumer | undefined;
  private up = false;
  private stopped = false;
  private owning = false;
  private lastActivityAt = Date.now();
  private downSince: number | undefined = Date.now();
  private rebuilds = 0;
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private building: Promise<void> | undefined;

  constructor(options: SupervisedConsumerOptions) {
    this.o = options;
    this.log = options.logger.child({ component: 'supervised-consumer', consumer: options.name });
    this.backoffMs = options.initialBackoffMs ?? 500;
    // The counter's series exists at 0 from the start, so rate() and increase() see the first rebuild.
    if (!REBUILDS.has(options.name)) REBUILDS.set(options.name, 0);
  }

  /** The KafkaJS consumer of the current build (changes after a rebuild; undefined while down). */
  get consumer(): Consumer | undefined {
    return this.current;
  }

  get running(): boolean {
    return this.up && !this.stopped;
  }

  /** First build; rejects if it fails (start-up failure is the caller's to report). */
  async start(): Promise<void> {
    ACTIVE.add(this);
    try {
      await this.build();
    } catch (error) {
      ACTIVE.delete(this);
      await this.current?.disconnect().catch(() => {});
      this.current = undefined;
      throw error;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.building?.catch(() => {});
    ACTIVE.delete(this);
    const c = this.current;
    this.current = undefined;
    this.up = false;
    await c?.disconnect().catch((e: unknown) => this.log.warn({ err: e }, 'consumer disconnect'));
  }

  state(now = Date.now()): ConsumerState {
    const stallMs = this.o.stallMs ?? 60_000;
    const down = this.downSince !== undefined && now - this.downSince > stallMs;
    const silent = this.up && this.owning && now - this.lastActivityAt > stallMs;
    return {
      name: this.o.name,
      up: this.running,
      lastActivityAt: this.lastActivityAt,
      downSince: this.downSince,
      rebuilds: this.rebuilds,
      live: this.stopped || (!down && !silent),
    };
  }

  private async build(): Promise<void> {
    const config = typeof this.o.config === 'function' ? this.o.config() : this.o.config;
    // KafkaJS's own restart (restart: true) is turned off: it would restart a consumer we may be
    // rebuilding, and one owner of restarts is easier to reason about than two.
    const consumer = this.o.kafka.consumer({
      ...config,
      retry: { ...config.retry, restartOnFailure: async () => false },
    });
    this.current = consumer;
    const alive = () => {
      if (this.current === consumer) this.lastActivityAt = Date.now();
    };
    consumer.on(consumer.events.FETCH_START, alive);
    consumer.on(consumer.events.HEARTBEAT, alive);
    consumer.on(consumer.events.END_BATCH_PROCESS, alive);
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      if (this.current !== consumer) return;
      alive();
      this.owning = Object.values(payload.memberAssignment).some((ps) => ps.length > 0);
      this.backoffMs = this.o.initialBackoffMs ?? 500;
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (this.current !== consumer) return;
      this.log.error({ err: payload.error, restart: payload.restart }, 'consumer crashed');
      this.markDown();
      this.scheduleRebuild('crash');
    });
    consumer.on(consumer.events.STOP, () => {
      if (this.current !== consumer || this.stopped) return;
      this.markDown();
      this.scheduleRebuild('consumer stopped');
    });
    consumer.on(consumer.events.FETCH_START, () => {
      if (this.current === consumer && !this.up) this.markUp();
    });
    this.building = this.o.setup(consumer);
    try {
      await this.building;
    } finally {
      this.building = undefined;
    }
    if (this.current === consumer && !this.stopped) this.markUp();
  }

  private markUp(): void {
    this.up = true;
    this.downSince = undefined;
    this.lastActivityAt = Date.now();
  }

  private markDown(): void {
    this.up = false;
    this.owning = false;
    this.downSince ??= Date.now();
  }

  private scheduleRebuild(why: string): void {
    if (this.stopped || this.timer) return;
    const wait = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.o.maxBackoffMs ?? 15_000);
    this.log.warn({ why, inMs: wait }, 'rebuilding consumer');
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.rebuild();
    }, wait);
  }

  private async rebuild(): Promise<void> {
    if (this.stopped) return;
    const old = this.current;
    this.current = undefined;
    await old?.disconnect().catch(() => {});
    try {
      await this.o.onReset?.();
      if (this.stopped) return;
      this.rebuilds += 1;
      REBUILDS.set(this.o.name, (REBUILDS.get(this.o.name) ?? 0) + 1);
      await this.build();
      this.log.info({ rebuilds: this.rebuilds }, 'consumer rebuilt');
    } catch (error) {
      this.log.warn({ err: error }, 'consumer rebuild failed');
      this.markDown();
      const c = this.current as Consumer | undefined;
      this.current = undefined;
      await c?.disconnect().catch(() => {});
      this.scheduleRebuild('rebuild failed');
    }
  }
}

/**
 * KafkaJS hides transaction markers: it resolves past a marker that ends a fetch together with the
 * last record before it, and never calls eachBatch for a fetch that held only markers (or aborted
 * records), committing past them only with autoCommit. A consumer that commits by hand (the
 * transactional runner, delivery) kept its committed offset on the marker that ends every upstream
 * transaction, so the group's lag as an operator reads it (committed vs high watermark) never went
 * back to 0 (test/faults/broker-restart.test.ts: 1 per partition on the batcher and delivery). Owners
 * pass `batch.lastOffset()` for the first case; this reports the second: `skip` gets the offsets such
 * a fetch covered, none of which is a record to handle.
 */
export function onSkippedOffsets(
  consumer: Consumer,
  skip: (topic: string, partition: number, first: string, last: string) => void,
): void {
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    if (payload.batchSize === 0 && payload.firstOffset != null && payload.lastOffset != null)
      skip(payload.topic, payload.partition, payload.firstOffset, payload.lastOffset);
  });
}

/**
 * Stops every supervised consumer of the process (each leaves its group), within `boundMs`: used on
 * exit paths that do not run the service's own stop (start-up failure, an uncaught error), so the
 * group moves the partitions at once instead of after a session timeout.
 */
export async function stopAllConsumers(boundMs = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.all([...ACTIVE].map((c) => c.stop())),
    new Promise<void>((r) => {
      timer = setTimeout(r, boundMs);
    }),
  ]);
  clearTimeout(timer);
}
