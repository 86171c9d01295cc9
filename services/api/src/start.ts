/**
 * Wires the API: provisions its topics, loads the subscription table, opens the history store and its
 * feed, and listens. `startApi` is the runService start function; tests call it in-process.
 */
import { join } from 'node:path';
import { PARSE_FAILURES, SecretBox } from '@hookpost/contracts';
import { replayLedgerTopic } from '@hookpost/deadletters';
import { provisionTopics, recordSkipper, serialProducer, topicCatalog } from '@hookpost/kafka';
import { HttpSender, type SsrfAllow, ssrfAllowFrom } from '@hookpost/sender';
import type { RunningService, ServiceContext } from '@hookpost/service';
import { SubscriptionWriter, startSubscriptionTable } from '@hookpost/subscriptions';
import { buildApp, type RouteSummary } from './app.ts';
import { parseTokens, TokenAuthority } from './auth.ts';
import type { ApiConfig } from './config.ts';
import { DeadLetterIndex } from './dead-letter-index.ts';
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
  /** Records the dead-letter index has read (tests check that visits read none). */
  deadLetterRecordsRead: () => number;
}

function allowFrom(config: ApiConfig): SsrfAllow {
  return ssrfAllowFrom(config.ssrf);
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
  const writer = new SubscriptionWriter({ kafka, topic: t.subscriptions.name, box });
  const notices = serialProducer(kafka);
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
    const [table] = await Promise.all([
      startSubscriptionTable({
        kafka,
        topic: t.subscriptions.name,
        box,
        logger,
        metrics: ctx.metrics,
        groupPrefix,
      }),
      writer.connect(),
      notices.producer.connect(),
    ]);
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
    const deadLetters = new DeadLetterIndex({
      kafka,
      dlqTopic: t.dlq.name,
      ledgerTopic: ledger.name,
      groupPrefix,
      logger,
      metrics: ctx.metrics,
    });
    await deadLetters.start();
    stops.unshift(() => deadLetters.stop());
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
        events: t.events.name,
      },
      topicPrefix: config.topics.prefix,
      grafanaUrl: config.api.grafanaUrl,
      groupPrefix,
      skipper,
      sender,
      history,
      deadLetters,
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
      deadLetterRecordsRead: () => deadLetters.recordsRead,
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
