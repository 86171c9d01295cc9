/**
 * The shared skeleton of every service's composition root: load and validate config, create the
 * logger, metrics registry and Kafka client, check the broker is reachable (bounded), run the
 * service, serve /metrics /healthz /readyz, and shut down gracefully on SIGTERM/SIGINT within a bound.
 * Services stay small: `main.ts` calls runService with their own schema and start function.
 */
import { brokerList, type CommonConfig, ConfigError, loadConfig, type Schema } from '@hookpost/config';
import {
  type Admin,
  connectAdmin,
  consumerRebuilds,
  consumerStates,
  createKafka,
  type Kafka,
  KafkaUnavailableError,
  stopAllConsumers,
} from '@hookpost/kafka';
import { createLogger, type Logger } from '@hookpost/logger';
import {
  type Check,
  type CheckDetail,
  Counter,
  createRegistry,
  type DetailedCheck,
  Gauge,
  type Registry,
  startOpsServer,
} from '@hookpost/metrics';
import { startTracing, TRACING_OFF, type Tracing, type TracingConfig } from '@hookpost/tracing';

export interface ServiceContext<C extends CommonConfig> {
  name: string;
  config: C;
  logger: Logger;
  metrics: Registry;
  kafka: Kafka;
  /** Connected admin client, already proven to reach the broker. */
  admin: Admin;
  /** Aborted when shutdown begins. */
  signal: AbortSignal;
  /**
   * Spans per stage, on when the service's schema has the `tracing` keys and an OTLP endpoint is set;
   * otherwise TRACING_OFF (no SDK loaded). Flushed after the service's own stop.
   */
  tracing?: Tracing;
}

export interface RunningService {
  /**
   * Readiness for /readyz (e.g. caught up). Every supervised consumer running is required on top. A
   * detailed answer names what is not ready (the probe's body shows it).
   */
  ready?: DetailedCheck;
  /** Liveness for /healthz, on top of every supervised consumer being live. */
  healthy?: Check;
  /** Graceful stop: stop fetching, finish or hand back in-flight work, commit, close clients. */
  stop?: () => Promise<void>;
}

export interface RunServiceOptions<C extends CommonConfig> {
  name: string;
  schema: Schema<C>;
  env?: Record<string, string | undefined>;
  start: (ctx: ServiceContext<C>) => Promise<RunningService>;
  shutdownTimeoutMs?: number;
  /** Exit the process when done (true for real services; false in tests). */
  exit?: boolean;
}

export interface ServiceHandle {
  /** Resolves with the exit code once the service has stopped. */
  done: Promise<number>;
  stop(): Promise<number>;
  port: () => number;
}

/** Starts a service; on a configuration error or an unreachable broker exits (or resolves) non-zero with one clear line. */
export async function runService<C extends CommonConfig>(
  options: RunServiceOptions<C>,
): Promise<ServiceHandle> {
  const exit = options.exit ?? true;
  const finish = (code: number): number => {
    if (exit) process.exit(code);
    return code;
  };
  let config: C;
  try {
    config = loadConfig(options.schema, { env: options.env ?? process.env });
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${options.name}: ${error.message}\n`);
    const code = finish(2);
    return { done: Promise.resolve(code), stop: async () => code, port: () => 0 };
  }
  const logger = createLogger({ name: options.name, level: config.log.level });
  const metrics = createRegistry({ service: options.name });
  const brokers = brokerList(config.kafka.brokers);
  const kafka = createKafka({ brokers, clientId: `${config.kafka.clientId}-${options.name}`, logger });
  const controller = new AbortController();

  let admin: Admin;
  try {
    admin = await connectAdmin(kafka, brokers, config.kafka.connectTimeoutMs);
  } catch (error) {
    if (!(error instanceof KafkaUnavailableError)) throw error;
    logger.fatal({ code: error.code }, error.message);
    process.stderr.write(`${options.name}: ${error.message}\n`);
    const code = finish(1);
    return { done: Promise.resolve(code), stop: async () => code, port: () => 0 };
  }

  const tracingConfig = (config as { tracing?: TracingConfig }).tracing;
  const tracing = tracingConfig
    ? await startTracing({ config: tracingConfig, service: options.name, registry: metrics })
    : TRACING_OFF;
  let running: RunningService;
  try {
    running = await options.start({
      name: options.name,
      config,
      logger,
      metrics,
      kafka,
      admin,
      signal: controller.signal,
      tracing,
    });
  } catch (error) {
    logger.fatal({ err: error }, 'start-up failed');
    process.stderr.write(`${options.name}: start-up failed: ${(error as Error).message}\n`);
    // Consumers that did start leave their groups now, not a session timeout after the exit.
    await stopAllConsumers();
    await admin.disconnect().catch(() => {});
    const code = finish(1);
    return { done: Promise.resolve(code), stop: async () => code, port: () => 0 };
  }
  // The truth about the consumers, whatever the service's own checks say: a consumer that is down
  // (being rebuilt) is not ready; one down or silent past its bound is not live, and the orchestrator
  // restarts the process.
  registerConsumerMetrics(metrics);
  const ops = await startOpsServer({
    registry: metrics,
    port: config.http.port,
    host: config.http.host,
    // The body names what fails (consumers by role, or the service's own check): an operator and the
    // fault test see why a probe is 503 without reading logs.
    ready: async () => {
      const down = consumerStates()
        .filter((c) => !c.up)
        .map((c) => `consumer ${c.name}`);
      const own = detail((await running.ready?.()) ?? true, `${options.name} ready check`);
      const failing = [...down, ...own];
      return { ok: failing.length === 0, failing };
    },
    healthy: async () => {
      const stalled = consumerStates()
        .filter((c) => !c.live)
        .map((c) => `consumer ${c.name}`);
      const own = (await running.healthy?.()) ?? true;
      const failing = [...stalled, ...(own ? [] : [`${options.name} health check`])];
      return { ok: failing.length === 0, failing };
    },
  });
  logger.info({ port: ops.port }, `${options.name} started`);

  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => {
    resolveDone = r;
  });
  let stopping: Promise<number> | undefined;
  let failed = false;
  const stop = (): Promise<number> => {
    stopping ??= (async () => {
      controller.abort();
      const bound = options.shutdownTimeoutMs ?? 20_000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((r) => {
        timer = setTimeout(() => r('timeout'), bound);
      });
      const outcome = await Promise.race([
        (async () => {
          await running.stop?.();
          await tracing.shutdown();
          await admin.disconnect();
          await ops.close();
          return 'ok' as const;
        })().catch((error: unknown) => {
          logger.error({ err: error }, 'error during shutdown');
          return 'error' as const;
        }),
        timedOut,
      ]);
      clearTimeout(timer);
      const code = outcome === 'ok' && !failed ? 0 : 1;
      if (outcome === 'timeout') logger.error({ boundMs: bound }, 'shutdown did not finish in time');
      logger.info({ code }, `${options.name} stopped`);
      resolveDone(code);
      return finish(code);
    })();
    return stopping;
  };
  if (exit) {
    process.once('SIGTERM', () => void stop());
    process.once('SIGINT', () => void stop());
    // An error nothing caught: shut down as on SIGTERM (consumers leave their groups, so the partitions
    // move at once) and exit non-zero; the orchestrator starts a fresh process.
    const fatal = (error: unknown) => {
      logger.fatal({ err: error }, 'uncaught error; shutting down');
      failed = true;
      void stop();
    };
    process.on('uncaughtException', fatal);
    process.on('unhandledRejection', fatal);
  }
  return { done, stop, port: () => ops.port };
}

/** What a check's answer says fails: nothing when it passed; its own list, or `name`, when not. */
function detail(answer: boolean | CheckDetail, name: string): string[] {
  if (typeof answer === 'boolean') return answer ? [] : [name];
  return answer.ok ? [] : answer.failing?.length ? answer.failing : [name];
}

/** Consumer state as metrics: one series per consumer role of the process (bounded names). */
function registerConsumerMetrics(registry: Registry): void {
  new Gauge({
    name: 'webhooks_consumer_up',
    help: 'Whether the consumer loop runs (1) or is down, e.g. being rebuilt after a crash (0)',
    labelNames: ['consumer'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of consumerStates()) this.set({ consumer: c.name }, c.up ? 1 : 0);
    },
  });
  new Gauge({
    name: 'webhooks_consumer_activity_age_seconds',
    help: "Seconds since the consumer loop's last fetch, heartbeat or batch",
    labelNames: ['consumer'],
    registers: [registry],
    collect() {
      this.reset();
      const now = Date.now();
      for (const c of consumerStates()) this.set({ consumer: c.name }, (now - c.lastActivityAt) / 1000);
    },
  });
  // A counter (it only grows; rate() and increase() apply): each scrape adds what the process's
  // consumers rebuilt since the previous one.
  const counted = new Map<string, number>();
  new Counter({
    name: 'webhooks_consumer_rebuilds_total',
    help: 'Times a crashed or stopped consumer was rebuilt since the process started',
    labelNames: ['consumer'],
    registers: [registry],
    collect() {
      for (const [consumer, total] of consumerRebuilds()) {
        this.inc({ consumer }, total - (counted.get(consumer) ?? 0));
        counted.set(consumer, total);
      }
    },
  });
}

export { SERVICE_ENV, SERVICE_NODE_ARGS, SERVICE_NODE_ARGS_OF, serviceNodeArgs } from './node-args.ts';
