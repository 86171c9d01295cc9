/**
 * The console against the whole pipeline: the real fan-out, batcher and delivery processes (small
 * retry tiers, a 1 s batch window) and the API on the shared broker and registry. In the browser an
 * operator creates two webhooks, MTA events flow, one batch arrives in the first webhook's attempts;
 * the second webhook's receiver fails until it is "fixed", so delivery exhausts the tiers and the
 * suspender suspends it; the console shows why, dry-runs the replay, refuses it while suspended,
 * resumes and replays, and the receiver gets the same batch. Every page is checked (labels, Tab, axe,
 * 390 px); of its screenshots only the replayed dead letters are committed (npm run docs:console): the
 * others come from the real demo's run (console-demo.test.ts).
 */
import { SecretBox } from '@hookpost/contracts';
import { provisionTopics } from '@hookpost/kafka';
import { type Behaviour, type Receiver, startReceiver } from '@hookpost/sender';
import type { Browser, Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';
import { mta } from '../support/pipeline.ts';
import { metricsText, metricValue, type RunningProcess } from '../support/services.ts';
import { checkPage, launchChromium, shoot, signedIn } from './browser.ts';
import { startTestApi, TOKENS } from './support.ts';

const TIERS = ['200ms', '500ms'];
const it = integrationTest({ partitions: 3, retryTiers: TIERS });
const keys = SecretBox.generateSpec();
let api: Awaited<ReturnType<typeof startTestApi>>;
let receiver: Receiver;
let browser: Browser;
let events: Awaited<ReturnType<typeof mta>>;
/** fan-out, batcher and delivery, each with a subscription table of its own. */
let services: RunningProcess[];
/** The flaky receiver answers 503 until the test "fixes" it. */
let fixed = false;

// The fixtures close all of these (each owned as soon as it is open); the helpers reach them by name.
it.beforeAll(async ({ env, owned, spawn }) => {
  await provisionTopics(env.admin, env.catalog.all());
  // Not the fixtures' receiver: this one fails the FAILING path until the test fixes it.
  receiver = owned.own(
    await startReceiver({
      behaviour: (path): Behaviour | undefined =>
        path !== FAILING ? undefined : fixed ? { kind: 'ok' } : { kind: 'status', status: 500 },
    }),
    (r) => r.close(),
  );
  const common = {
    KAFKA_BROKERS: env.brokers,
    SCHEMA_REGISTRY_URL: env.registryUrl,
    TOPIC_PREFIX: env.prefix,
    TOPIC_PARTITIONS: '3',
    SUBSCRIPTION_ENCRYPTION_KEYS: keys,
  };
  services = [
    spawn('fanout', common),
    spawn('batcher', { ...common, BATCH_WINDOW_MS: '1000' }),
    spawn('delivery', {
      ...common,
      RETRY_TIERS: TIERS.join(','),
      SSRF_ALLOW_LOOPBACK: 'true',
      DELIVERY_MAX_WAIT_MS: '50',
    }),
  ];
  [api, events, browser] = await Promise.all([
    startTestApi(env, { encryptionKeys: keys }).then((a) =>
      owned.own(a, async () => {
        await a.stop();
        a.cleanup();
      }),
    ),
    mta(env).then((m) => owned.own(m, () => m.producer.close())),
    launchChromium().then((b) => owned.own(b, () => b.close())),
    ...services.map((s) => s.ready()),
  ]);
}, 300_000);

/**
 * The demo's webhooks (scripts/start.ts: names, domains, receiver paths, events), so the screenshot of
 * the replayed dead letters matches the demo's pictures. The failing one answers 500 until fixed.
 */
const FAILING = '/status/500/failing';
const DEMO = {
  orders: { name: 'orders (JSON)', domain: 'dom-0', path: '/ok/json' },
  analytics: { name: 'analytics (JSON Lines)', domain: 'dom-1', path: '/ok/jsonl' },
  failing: { name: 'always failing', domain: 'dom-2', path: FAILING },
};

/**
 * Opens `hash` afresh (the pages read the API once per visit; going to the URL the tab is already on
 * changes no hash, so it reloads).
 */
async function visit(page: Page, hash: string) {
  const target = `${api.api.url}/console${hash}`;
  if (page.url() === target) await page.reload();
  else await page.goto(target);
}

/** Visits `hash` until `text` shows. */
async function until(page: Page, hash: string, text: string | RegExp, what: string) {
  await waitFor(
    async () => {
      await visit(page, hash);
      await page.locator('main h1').waitFor();
      return (await page.locator('main').getByText(text).count()) > 0;
    },
    { timeoutMs: 45_000, what },
  );
}

async function create(page: Page, name: string, url: string, domain: string, events: string) {
  await page.goto(`${api.api.url}/console#/?domain_id=${domain}`);
  await page.getByRole('heading', { name: 'New webhook' }).waitFor();
  await page.getByLabel('Name').fill(name);
  await page.getByLabel('URL').fill(url);
  await page.getByLabel(/^Events/).fill(events);
  await page.getByLabel(/^Batch window/).fill('1');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('heading', { name }).waitFor();
  return decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
}

describe('console over the running pipeline', () => {
  it('a batch arrives in the attempts; a failing webhook is suspended, its dead letters dry-run, resumed and replayed', {
    timeout: 180_000,
  }, async () => {
    const page = await signedIn(browser, api.api.url, TOKENS.backend);
    const { orders: o, analytics: a, failing: f } = DEMO;
    const orders = await create(
      page,
      o.name,
      `${receiver.url}${o.path}`,
      o.domain,
      'activity.sent, activity.delivered, activity.opened, activity.clicked',
    );
    const flaky = await create(
      page,
      f.name,
      `${receiver.url}${f.path}`,
      f.domain,
      'activity.delivered, activity.hard_bounced',
    );
    // The demo's JSON Lines webhook (the form has no format field; the API sets it).
    const analytics = await api.call('POST', '/v1/webhooks', {
      name: a.name,
      domain_id: a.domain,
      url: `${receiver.url}${a.path}`,
      format: 'jsonl',
      events: ['activity.delivered', 'activity.opened', 'activity.clicked', 'activity.hard_bounced'],
      batch: { max_events: 500, window_seconds: 1 },
    });
    expect(analytics.status).toBe(201);
    // The API reads its own writes; the services read the subscriptions topic on their own: events sent
    // before a service's table has a webhook would be dropped (fan-out) or dead-lettered as deleted.
    await waitFor(
      async () => {
        for (const s of services)
          if (metricValue(await metricsText(s), 'webhooks_subscriptions') < 3) return false;
        return true;
      },
      { what: "the three webhooks in every service's table" },
    );
    await events.producer.send([
      events.make(o.domain, 'activity.delivered'),
      events.make(o.domain, 'activity.opened'),
      events.make(o.domain, 'activity.delivered'),
      events.make(a.domain, 'activity.clicked'),
      events.make(f.domain, 'activity.delivered'),
      events.make(f.domain, 'activity.hard_bounced'),
    ]);

    // The batch reaches the receiver and the attempts page, under the id the receiver saw.
    const delivered = await waitFor(() => receiver.requests.find((r) => r.path === o.path), {
      timeoutMs: 45_000,
    });
    const batchId = String(delivered.headers['webhook-id']);
    await until(page, `#/webhooks/${orders}/attempts`, batchId, 'the batch in the attempts');
    await page.getByRole('link', { name: new RegExp(`^Details of attempt 1 of batch ${batchId}`) }).click();
    const detail = page.locator('#attempt-detail');
    await detail.getByRole('heading').waitFor();
    expect(await detail.textContent()).toMatch(/200 \(2xx, delivered\)/);
    expect(await detail.textContent()).toContain(`Events in the batch${delivered.events}`);
    await checkPage(page, 'attempt-detail');

    // Three 500s (main, 200ms, 500ms): exhausted, dead-lettered, suspended by the suspender.
    await until(page, `#/?domain_id=${f.domain}`, 'suspended: exhausted', 'the failing webhook suspended');
    expect(receiver.requests.filter((r) => r.path === FAILING)).toHaveLength(3);
    await page.getByRole('cell', { name: /0\.0 %/ }).waitFor();
    await checkPage(page, 'webhooks');
    await until(page, `#/?domain_id=${o.domain}`, '✓ HTTP 200', 'orders delivering in its list');
    await checkPage(page, 'webhooks-active');
    await page.goto(`${api.api.url}/console#/overview`);
    await page.getByRole('link', { name: f.name }).waitFor();
    expect(await page.locator('#ov-suspended').textContent()).toBe('1');
    await checkPage(page, 'overview');
    await page.goto(`${api.api.url}/console#/webhooks/${flaky}`);
    await page.getByText('suspended: exhausted').waitFor();
    await checkPage(page, 'webhook-detail');
    await page.goto(`${api.api.url}/console#/webhooks/${flaky}/attempts`);
    await page.getByRole('table', { name: /^3 attempts/ }).waitFor();
    await checkPage(page, 'attempts');

    // Dead letters: one batch, exhausted. A dry run sends nothing.
    await page.goto(`${api.api.url}/console#/webhooks/${flaky}/dead-letters`);
    await page.getByRole('table', { name: '1 dead letter by reason' }).waitFor();
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('heading', { name: 'Dry run: nothing was sent' }).waitFor();
    expect(await page.locator('#replay-summary').textContent()).toMatch(
      /^1 matched; would replay 1 \(\d events?\); would resume the webhook first\.$/,
    );
    expect(receiver.requests.filter((r) => r.path === FAILING)).toHaveLength(3);
    await checkPage(page, 'dead-letters');

    // The receiver is fixed. Replaying while suspended (resume unticked) is refused; resume, then replay.
    fixed = true;
    await page.getByLabel('Resume the webhook first if it is suspended').uncheck();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'The webhook is suspended' }).waitFor();
    await page.getByRole('button', { name: 'Resume webhook' }).click();
    await page.locator('#dl-status').getByText('active').waitFor();
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    await page.getByRole('heading', { name: 'Replay done' }).waitFor();
    expect(await page.locator('#replay-summary').textContent()).toMatch(
      /^1 matched; replayed 1 \(\d events?\)\.$/,
    );
    const replayed = await waitFor(
      () => receiver.requests.find((r) => r.path === FAILING && r.status === 200),
      {
        timeoutMs: 45_000,
        what: 'the replayed batch delivered',
      },
    );
    const firstTry = receiver.requests.find((r) => r.path === FAILING)!;
    expect(replayed.headers['webhook-id']).toBe(firstTry.headers['webhook-id']);
    await waitFor(
      async () => {
        await visit(page, `#/webhooks/${flaky}/dead-letters`);
        const cell = page.locator('td[data-label="Replayed"]').first();
        await cell.waitFor();
        return /UTC$/.test((await cell.textContent()) ?? '');
      },
      { timeoutMs: 45_000, what: 'the dead letter marked replayed' },
    );
    await shoot(page, 'dead-letters-replayed');
    await until(page, `#/?domain_id=${f.domain}`, '✓ HTTP 200', 'the fixed webhook delivering');
    expect(await page.locator('main').getByText('suspended').count()).toBe(0);

    // A customer token of another domain reaches none of it.
    const customer = await signedIn(browser, api.api.url, TOKENS.scoped);
    for (const hash of [`#/webhooks/${flaky}/dead-letters`, `#/webhooks/${orders}/attempts`]) {
      await customer.goto(`${api.api.url}/console${hash}`);
      await customer.getByRole('heading', { name: 'Not found (404)' }).waitFor();
      expect(await customer.content()).not.toContain(f.name);
    }
    await customer.close();
    await page.close();
  });
});
