/**
 * The SRE dead-letter CLI: argument parsing, wiring of Kafka clients, and output. The work itself is
 * @hookpost/deadletters (the same code the API's resend route runs).
 */
import { parseArgs } from 'node:util';
import { brokerList, ConfigError, loadConfig } from '@hookpost/config';
import { SecretBox } from '@hookpost/contracts';
import {
  type DeadLetterFilter,
  eventCount,
  type ReplayResult,
  replay,
  replayLedgerTopic,
  resumeWebhook,
  scanDeadLetters,
  summarise,
} from '@hookpost/deadletters';
import {
  connectAdmin,
  createKafka,
  type Kafka,
  KafkaUnavailableError,
  provisionTopics,
  type RecordSkipper,
  recordSkipper,
  serialProducer,
  topicCatalog,
} from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { SubscriptionWriter, startSubscriptionTable } from '@hookpost/subscriptions';
import { count, parseLimit, parseRate, parseReasons, parseTime, progressLine, UsageError } from './args.ts';
import { type CliConfig, schema } from './config.ts';
import { HELP } from './help.ts';
import { renderLetters, renderList, renderShow } from './render.ts';

const EXIT = { ok: 0, failed: 1, usage: 2, refused: 3, notFound: 4 } as const;

export interface Io {
  env: Record<string, string | undefined>;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Whether stderr is a terminal (the progress bar redraws in place). */
  tty: boolean;
  now?: () => number;
}

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  webhook: { type: 'string' },
  reason: { type: 'string', multiple: true },
  from: { type: 'string' },
  to: { type: 'string' },
  'dry-run': { type: 'boolean' },
  rate: { type: 'string' },
  resume: { type: 'boolean' },
  force: { type: 'boolean' },
  json: { type: 'boolean' },
  limit: { type: 'string' },
} as const;

const ALLOWED: Record<string, readonly string[]> = {
  list: ['help', 'webhook', 'reason', 'from', 'to', 'limit', 'json'],
  show: ['help', 'json'],
  replay: ['help', 'webhook', 'reason', 'from', 'to', 'dry-run', 'rate', 'resume', 'force', 'json'],
};

export async function runCli(argv: string[], io: Io): Promise<number> {
  const now = io.now ?? Date.now;
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    io.out(HELP.main!);
    return command ? EXIT.ok : EXIT.usage;
  }
  if (!ALLOWED[command]) {
    io.err(`dlq: unknown command "${command}"\n\n${HELP.main}`);
    return EXIT.usage;
  }
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
    for (const key of Object.keys(values))
      if (!ALLOWED[command]!.includes(key))
        throw new UsageError(`option --${key} does not apply to ${command}`);
    if (values.help) {
      io.out(HELP[command]!);
      return EXIT.ok;
    }
    if (command === 'show' ? positionals.length !== 1 : positionals.length > 0)
      throw new UsageError(
        command === 'show' ? 'show needs exactly one dlq_id' : `unexpected argument "${positionals[0]}"`,
      );
  } catch (error) {
    io.err(`dlq ${command}: ${(error as Error).message}\n\n${HELP[command]}`);
    return EXIT.usage;
  }

  let config: CliConfig;
  let filter: DeadLetterFilter;
  let rate = 0;
  let limit = 20;
  try {
    config = loadConfig<CliConfig>(schema as never, { env: io.env });
    filter = {
      webhookId: values.webhook,
      reasons: parseReasons(values.reason),
      from: values.from ? parseTime(values.from, now(), '--from') : undefined,
      to: values.to ? parseTime(values.to, now(), '--to') : undefined,
    };
    if (values.rate) rate = parseRate(values.rate);
    if (values.limit !== undefined) limit = parseLimit(values.limit);
    if (command === 'replay' && !config.subscriptions.encryptionKeys)
      throw new UsageError(
        'replay needs SUBSCRIPTION_ENCRYPTION_KEYS to read the webhooks it replays to ' +
          '(in the demo it is taken from .data/demo/secrets.json, which `npm start` writes)',
      );
  } catch (error) {
    if (!(error instanceof UsageError || error instanceof ConfigError)) throw error;
    io.err(`dlq ${command}: ${error.message}\n`);
    return EXIT.usage;
  }

  const logger = createLogger({ name: 'dlq', level: config.log.level, destination: process.stderr });
  const brokers = brokerList(config.kafka.brokers);
  const kafka = createKafka({ brokers, clientId: `${config.kafka.clientId}-dlq`, logger });
  let admin: Awaited<ReturnType<typeof connectAdmin>>;
  try {
    admin = await connectAdmin(kafka, brokers, config.kafka.connectTimeoutMs);
  } catch (error) {
    io.err(`dlq: ${(error as Error).message}\n`);
    return EXIT.failed;
  }
  const catalog = topicCatalog({ prefix: config.topics.prefix, partitions: config.topics.partitions });
  const groupPrefix = `${config.topics.prefix}hookpost-dlq-cli`;
  // No metrics registry in a CLI: invalid DLQ and ledger records are logged (stderr) and counted in the output.
  const skipper = recordSkipper({ logger });
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(catalog.topics.dlq.name)) {
      io.err(`dlq: topic ${catalog.topics.dlq.name} does not exist (check TOPIC_PREFIX and KAFKA_BROKERS)\n`);
      return EXIT.failed;
    }
    if (command === 'list') {
      const scan = await scanDeadLetters(kafka, catalog.topics.dlq.name, filter, groupPrefix, skipper);
      const rows = summarise(scan.letters.map((s) => s.letter));
      // The newest first: what `show` takes, so an SRE can go from the counts to one record.
      const newest = [...scan.letters].reverse();
      const shown = (limit === 0 ? newest : newest.slice(0, limit)).map((s) => ({
        dlq_id: s.letter.dlq_id,
        webhook_id: s.letter.webhook_id,
        reason: s.letter.reason,
        dead_at: s.letter.dead_at,
        events: eventCount(s.letter),
      }));
      if (values.json)
        io.out(
          `${JSON.stringify({ rows, letters: shown, total: scan.letters.length, unreadable: scan.unreadable.length }, null, 2)}\n`,
        );
      else io.out(renderList(rows, scan.unreadable.length) + renderLetters(shown, scan.letters.length));
      return EXIT.ok;
    }
    if (command === 'show') {
      // Trimmed: a copied table cell often brings its padding along.
      const id = positionals[0]!.trim();
      const scan = await scanDeadLetters(kafka, catalog.topics.dlq.name, {}, groupPrefix, skipper);
      const found = scan.letters.find((s) => s.letter.dlq_id === id);
      if (!found) {
        io.err(`dlq show: no dead letter with id ${id}\n`);
        return EXIT.notFound;
      }
      io.out(values.json ? `${JSON.stringify(found, null, 2)}\n` : renderShow(found));
      return EXIT.ok;
    }
    const ledger = replayLedgerTopic(config.topics.prefix);
    await provisionTopics(admin, [ledger]);
    return await runReplay(kafka, io, config, {
      topics: {
        dlq: catalog.topics.dlq.name,
        batches: catalog.topics.batches.name,
        dispatch: catalog.topics.dispatch.name,
        ledger: ledger.name,
        subscriptions: catalog.topics.subscriptions.name,
        operational: catalog.topics.operational.name,
      },
      filter,
      rate,
      groupPrefix,
      dryRun: values['dry-run'] ?? false,
      resume: values.resume ?? false,
      force: values.force ?? false,
      json: values.json ?? false,
      logger,
      skipper,
      now,
    });
  } catch (error) {
    const message =
      error instanceof KafkaUnavailableError ? error.message : `failed: ${(error as Error).message}`;
    io.err(`dlq ${command}: ${message}\n`);
    return EXIT.failed;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

interface ReplayRun {
  topics: {
    dlq: string;
    batches: string;
    dispatch: string;
    ledger: string;
    subscriptions: string;
    operational: string;
  };
  filter: DeadLetterFilter;
  rate: number;
  groupPrefix: string;
  dryRun: boolean;
  resume: boolean;
  force: boolean;
  json: boolean;
  logger: ReturnType<typeof createLogger>;
  skipper: RecordSkipper;
  now: () => number;
}

async function runReplay(kafka: Kafka, io: Io, config: CliConfig, run: ReplayRun): Promise<number> {
  const box = new SecretBox(config.subscriptions.encryptionKeys);
  const topic = run.topics.subscriptions;
  const writer = new SubscriptionWriter({ kafka, topic, box });
  const notices = serialProducer(kafka);
  const [table] = await Promise.all([
    startSubscriptionTable({ kafka, topic, box, logger: run.logger, groupPrefix: run.groupPrefix }),
    writer.connect(),
    notices.producer.connect(),
  ]);
  let result: ReplayResult;
  try {
    const started = run.now();
    result = await replay({
      kafka,
      topics: run.topics,
      filter: run.filter,
      groupPrefix: run.groupPrefix,
      skipper: run.skipper,
      lookup: (id) => table.get(id),
      resume: run.resume
        ? async (id) => {
            const r = await resumeWebhook(
              { writer, table, notices, operationalTopic: run.topics.operational, now: run.now },
              id,
              'cli',
            );
            if (r.ok && r.changed) io.err(`resumed webhook ${id}\n`);
          }
        : undefined,
      dryRun: run.dryRun,
      force: run.force,
      ratePerSec: run.rate,
      by: 'cli',
      now: run.now,
      // On a terminal the line is redrawn in place and cleared to its end (a shorter line left a tail).
      onProgress: (p) => io.err(`${io.tty ? '\r' : ''}${progressLine(p)}${io.tty ? '\x1b[K' : '\n'}`),
    });
    if (io.tty && result.ok && result.report.replayed > 0 && !run.dryRun) io.err('\n');
    const r = result.report;
    if (run.json) io.out(`${JSON.stringify({ ...result, elapsed_ms: run.now() - started }, null, 2)}\n`);
    if (!result.ok) {
      io.err(
        `dlq replay: refused: ${result.webhooks.length === 1 ? 'webhook' : 'webhooks'} ${result.webhooks.join(', ')} still suspended; nothing was replayed.\n` +
          'Resume them with --resume (or through the API), or narrow the replay with --webhook.\n',
      );
      return EXIT.refused;
    }
    if (!run.json) {
      const verb = run.dryRun ? 'would replay' : 'replayed';
      const skipped = Object.entries(r.skipped)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${k.replaceAll('_', ' ')}: ${n}`)
        .join(', ');
      io.out(
        `${run.dryRun ? 'dry run: ' : ''}${count(r.matched, 'dead letter')} matched; ${verb} ${r.replayed} (${count(r.events, 'event')})` +
          `${skipped ? `; skipped ${skipped}` : ''}` +
          `${r.resumed.length > 0 ? `; ${run.dryRun ? (run.resume ? 'would resume' : 'needs --resume for suspended') : 'resumed'} ${r.resumed.join(', ')}` : ''}\n`,
      );
      if (run.dryRun)
        for (const item of r.items)
          io.out(
            `  ${item.dlq_id}  ${item.webhook_id ?? '-'}  ${item.reason}  ${new Date(item.dead_at).toISOString()}  -> ${item.outcome}\n`,
          );
    }
    return EXIT.ok;
  } finally {
    await table.stop();
    await writer.close();
    await notices.disconnect();
  }
}
