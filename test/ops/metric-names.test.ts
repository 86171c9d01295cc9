/**
 * The names the dashboard and the alert rules query exist in live scrapes of the real services: fan-out,
 * batcher, delivery (main, retry, suspender) and the API, spawned as processes on their own topics and
 * driven through every path that increments a labelled metric (delivered, retried, dead-lettered,
 * suspended, poison at each stage). prom-client shows a labelled metric only as `# TYPE` until its
 * first sample, so the test asks for both: the name declared, and a sample, except for the few
 * metrics listed in NO_SAMPLE_YET (none today: every labelled counter is zero-initialised).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SecretBox } from '@hookpost/contracts';
import { MtaProducer } from '@hookpost/events';
import { provisionTopics, topicOffsets } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import { emailEvents } from '../support/factories.ts';
import { integrationTest } from '../support/fixtures.ts';
import { metricsText, metricValue, type RunningProcess } from '../support/services.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';
import { alertRules, dashboardQueries, metricNames } from './metric-refs.ts';

/**
 * Declared but without samples after this test's traffic: labelled counters that only an unusual
 * event increments. The service should create them with zero-initialised label values (see report).
 */
const NO_SAMPLE_YET = new Set<string>();

const SERVICES = ['fanout', 'batcher', 'delivery', 'api'] as const;
const it = integrationTest({ partitions: 2, retryTiers: ['1s'] });
const processes = new Map<string, RunningProcess>();

it.beforeAll(async ({ env, receiver, producer, owned, spawn }) => {
  // Idempotent, so retried: a busy shared broker sometimes answers the post-create metadata check
  // with "does not host this topic-partition" before the new leaders are known.
  await waitFor(() => provisionTopics(env.admin, env.catalog.all()).then(() => true), {
    what: 'topics provisioned',
  });
  for (const spec of env.catalog.all()) await topicOffsets(env.kafka, spec.name);
  const dataDir = owned.own(mkdtempSync(join(tmpdir(), 'hookpost-metrics-')), (d) =>
    rmSync(d, { recursive: true, force: true }),
  );
  const keys = SecretBox.generateSpec();
  const subs = await subscriptions(env, new SecretBox(keys));
  owned.own(subs.writer, (w) => w.close());
  const domain = `${env.prefix}d0`;
  const batch = { max_events: 500, window_ms: 500 };
  // One endpoint that answers, one that always fails: delivered, retried, exhausted, suspended.
  for (const path of ['/ok/m', '/status/500/m'])
    await subs.writer.put(
      makeWebhook({
        domain_id: domain,
        url: `${receiver.url}${path}`,
        events: ['activity.delivered'],
        batch,
        timeout_ms: 2_000,
      }),
    );

  const common = {
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '2',
    RETRY_TIERS: '1s',
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
    BATCH_WINDOW_MS: '500',
    SSRF_ALLOW_LOOPBACK: 'true',
    DELIVERY_JITTER: '0',
    API_PORT: '0',
    API_HOST: '127.0.0.1',
    API_DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
  };
  for (const svc of SERVICES) processes.set(svc, spawn(svc, common));
  await Promise.all([...processes.values()].map((p) => p.ready(90_000)));

  const mta = owned.own(
    new MtaProducer({
      kafka: env.kafka,
      registry: env.registry,
      registryUrl: env.registryUrl,
      topic: env.catalog.topics.events.name,
    }),
    (m) => m.close(),
  );
  await mta.connect();
  const gen = emailEvents(domain, 'activity.delivered', 3);
  await mta.send(Array.from({ length: 5 }, gen));
  // A record no stage can read, at each stage's input: poison counted by fan-out, batcher and delivery.
  const t = env.catalog.topics;
  for (const topic of [t.events.name, t.dispatch.name, t.batches.name])
    await producer.send(topic, [{ key: 'poison', value: Buffer.from('not a record') }]);
}, 180_000);

/** Base name of a series (histogram series → the histogram). */
const base = (name: string) => name.replace(/_(bucket|sum|count)$/, '');

function parseScrape(text: string) {
  const declared = new Map<string, string>();
  const sampled = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) declared.set(type[1]!, type[2]!);
    else if (line && !line.startsWith('#')) sampled.add(/^[a-zA-Z_:][\w:]*/.exec(line)![0]);
  }
  return { declared, sampled };
}

describe('metric names in the dashboard and alert rules', () => {
  it('exist in live scrapes of the services (declared, and sampled after real traffic)', async () => {
    const delivery = processes.get('delivery')!;
    // Every path has run once the failing webhook got suspended and poison reached each stage.
    await waitFor(
      async () => {
        const d = await metricsText(delivery);
        const f = await metricsText(processes.get('fanout')!);
        const b = await metricsText(processes.get('batcher')!);
        return (
          metricValue(d, 'webhooks_delivery_suspensions_total') > 0 &&
          /webhooks_delivery_requests_total\{[^}]*outcome="delivered"/.test(d) &&
          /webhooks_delivery_dlq_total\{[^}]*reason="poison"/.test(d) &&
          metricValue(f, 'webhooks_fanout_poison_total') > 0 &&
          metricValue(b, 'webhooks_batcher_dead_lettered_total') > 0
        );
      },
      { timeoutMs: 60_000, what: 'delivered, retried, dead-lettered, suspended and poison at every stage' },
    );

    const declared = new Map<string, string>();
    const sampled = new Set<string>();
    for (const svc of SERVICES) {
      const scrape = parseScrape(await metricsText(processes.get(svc)!));
      for (const [k, v] of scrape.declared) declared.set(k, v);
      for (const s of scrape.sampled) sampled.add(s);
    }
    const refs = [
      ...dashboardQueries().map((q) => ({ where: `dashboard "${q.title}"`, expr: q.expr })),
      ...alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ];
    expect(refs.length).toBeGreaterThan(20);
    const missing: string[] = [];
    const unsampled: string[] = [];
    for (const { where, expr } of refs) {
      for (const name of metricNames(expr)) {
        const family = declared.has(name) ? name : base(name);
        const type = declared.get(family);
        // A histogram is queried through its series; a plain name must not be a histogram's.
        if (!type || (family !== name && type !== 'histogram')) missing.push(`${where}: ${name}`);
        else if (!sampled.has(name) && !NO_SAMPLE_YET.has(family)) unsampled.push(`${where}: ${name}`);
      }
    }
    expect(missing, 'names no service exports').toEqual([]);
    expect(unsampled, 'declared but never sampled: zero-initialise their labels').toEqual([]);
  });
});
