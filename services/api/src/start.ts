/**
 * Wires the API: provisions its topics, loads the subscription table, opens the history store and its
 * feed, and listens. `startApi` is the runService start function; tests call it in-process.
 */
import { join } from 'node:path';
import { PARSE_FAILURES, SecretBox } from '@hookpost/contracts';
import { replayLedgerTopic } from '@hookpost/deadletters';
import {
  createProducer,
  provisionTopics,
  recordSkipper,
  SerialProducer,
  topicCatalog,
} from '@hookpost/kafka';
import { HttpSender, type SsrfAllow, ssrfAllowFrom } from '@hookpost/sender';
import type { RunningService, ServiceContext } from '@hookpost/service';
import { SubscriptionTable, SubscriptionWriter } from '@hookpost/subscriptions';
import { buildApp, type RouteSummary } from './app.ts';
import { parseTokens, TokenAuthority } from './auth.ts';
import type { ApiConfig } from './config.ts';
import { startHistoryFeed } from './history.ts';
import { HistoryStore } from './history-store.ts';

export interface ApiOptions {
  /** The clock (tests move it to check rotation grace periods). */
  now?: () => number;
}

export interface RunningApi extends RunningService {
  port: number;
  url: string;
  /** Every route the app serves, with its gate settings (tests enumerate them). */
  routes: readonly RouteSummary[];
}

export function allowFrom(config: ApiConfig): SsrfAllow {
  return ssrfAllowFrom(config.ssrf);
}

/**
 * Right after provisioning, the broker may not yet answer offset requests for a new topic (NOT_LEADER);
 * such errors are retriable and pass within a second.
 */
async function retrying<T>(work: () => Promise<T>, attempts = 6): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (error) {
      if (i >= attempts || !(error as { retriable?: boolean }).retriable) throw error;
      await new Promise((r) => setTimeout(r, 250 * i));
    }
  }
}

export async function startApi(
  ctx: ServiceContext<ApiConfig>,
  options: ApiOptions = {},
): Promise<RunningApi> {
  const { config, kafka, admin, logger } = ctx;
  const now = options.now ?? Date.now;
  const catalog = topicCatalog({ prefix: config.topics.prefix, partitions: config.topics.partitions });
  const t = catalog.topics;
  const ledger = replayLedgerTopic(config.topics.prefix);
  await provisionTopics(
    admin,
    [t.subscriptions, t.attempts, t.operational, t.dlq, t.batches, t.dispatch, ledger],
    logger,
  );

  const groupPrefix = `${config.topics.prefix}hookpost-api`;
  const box = new SecretBox(config.subscriptions.encryptionKeys);
  const table = new SubscriptionTable({
    kafka,
    topic: t.subscriptions.name,
    box,
    logger,
    metrics: ctx.metrics,
    groupPrefix,
  });
  const writer = new SubscriptionWriter({ kafka, topic: t.subscriptions.name, box });
  const notices = new SerialProducer(createProducer(kafka, { idempotent: true, maxInFlightRequests: 1 }));
  const allow = allowFrom(config);
  const sender = new HttpSender({ allow });
  // The API reads three topics that are not work topics: attempts (history), the DLQ and the replay
  // ledger (resend). Their invalid records are skipped, counted per topic and logged.
  const skipper = recordSkipper({
    logger: logger.child({ component: 'records' }),
    registry: ctx.metrics,
    topics: [t.attempts.name, t.dlq.name, ledger.name],
    reasons: PARSE_FAILURES,
  });
  const history = new HistoryStore(join(config.api.dataDir, 'attempts.sqlite'));
  const historyMs = config.api.historyDays * 24 * 60 * 60 * 1000;
  const stops: (() => Promise<void> | void)[] = [];
  try {
    await Promise.all([retrying(() => table.start()), writer.connect(), notices.producer.connect()]);
    stops.push(
      () => table.stop(),
      () => writer.close(),
      () => notices.disconnect(),
    );
    const feed = await startHistoryFeed({
      kafka,
      topic: t.attempts.name,
      store: history,
      logger,
      skipper,
      groupPrefix,
      retentionMs: historyMs,
      now,
    });
    stops.unshift(() => feed.stop());
    const app = await buildApp({
      logger,
      metrics: ctx.metrics,
      authority: new TokenAuthority(parseTokens(config.api.tokens)),
      table,
      writer,
      notices,
      kafka,
      topics: {
        operational: t.operational.name,
        dlq: t.dlq.name,
        batches: t.batches.name,
        dispatch: t.dispatch.name,
        ledger: ledger.name,
      },
      groupPrefix,
      skipper,
      sender,
      history,
      allow,
      bodyLimitBytes: config.api.bodyLimitBytes,
      secretGraceMs: config.api.secretGraceMs,
      historyMs,
      now,
    });
    stops.unshift(() => app.close());
    await app.listen({ port: config.api.port, host: config.api.host });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : config.api.port;
    logger.info({ port }, 'management API listening');
    return {
      port,
      url: `http://127.0.0.1:${port}`,
      routes: app.routeSummaries,
      ready: () => table.ready,
      stop: async () => {
        for (const stop of stops) await stop();
        await sender.close();
        history.close();
      },
    };
  } catch (error) {
    for (const stop of stops) await Promise.resolve(stop()).catch(() => {});
    await sender.close().catch(() => {});
    history.close();
    throw error;
  }
}
