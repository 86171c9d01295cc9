/**
 * The console in a real Chromium against the API on the shared broker, with history and dead letters
 * seeded on the API's topics: every page's controls, filters and paging, the secret behind a click,
 * and what a customer token can reach (its own domain's pages, nothing of another domain by any URL).
 * The whole pipeline (fan-out, batcher, delivery) runs in console-e2e.test.ts.
 */
import type { AttemptRecord } from '@hookpost/contracts';
import { provisionTopics, type SerialProducer } from '@hookpost/kafka';
import type { Receiver } from '@hookpost/sender';
import type { Browser } from 'playwright-core';
import { describe, expect } from 'vitest';
import { batchDeadLetter } from '../support/dead-letters.ts';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import {
  checkPage,
  launchChromium,
  seriousViolations,
  shoot,
  signedIn,
  snap,
  tabOrder,
  unlabelledControls,
} from './browser.ts';
import { apiTest, SCOPED_DOMAIN, type startTestApi, TOKENS } from './support.ts';

const it = apiTest();
let env: TestEnv;
let api: Awaited<ReturnType<typeof startTestApi>>;
let receiver: Receiver;
let browser: Browser;
let producer: SerialProducer;

// The fixtures close all of these; the file's helpers reach them through these names.
it.beforeAll(async ({ env: e, receiver: r, api: a, producer: p, owned }) => {
  [env, receiver, api, producer] = [e, r, a, p];
  await provisionTopics(env.admin, [env.catalog.topics.attempts]);
  browser = owned.own(await launchChromium(), (b) => b.close());
}, 300_000);

const url = () => api.api.url;
const createWebhook = async (domain: string, name: string, path = '/ok') => {
  const res = await api.call('POST', '/v1/webhooks', {
    domain_id: domain,
    name,
    url: `${receiver.url}${path}`,
    events: ['activity.delivered'],
  });
  expect(res.status).toBe(201);
  return res.body.data as { id: string; domain_id: string; secret: string };
};

describe('console in a real browser', () => {
  it('an operator creates a webhook (the API’s message beside the field), reveals and rotates its secret, sends a test', async () => {
    const page = await signedIn(browser, url(), TOKENS.backend);
    await checkPage(page, 'signed-in');
    const domain = uniq('dom-console');
    await page.getByLabel('Domain id').fill(domain);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('heading', { name: 'New webhook' }).waitFor();
    await page.getByLabel('Name').fill('Orders');
    await page.getByLabel('URL').fill('not a url');
    await page.getByLabel(/^Events/).fill('activity.sent');
    await page.getByRole('button', { name: 'Create' }).click();
    await waitFor(async () => ((await page.locator('#ce-url').textContent()) ?? '').length > 0);
    await page.getByLabel(/^Events/).fill('activity.sent, activity.nope');
    await page.getByRole('button', { name: 'Create' }).click();
    await page
      .locator('#ce-events')
      .filter({ hasText: /must be one of the event types/ })
      .waitFor();
    await page.getByLabel(/^Batch window/).fill('0');
    await page.getByRole('button', { name: 'Create' }).click();
    await page
      .locator('#ce-batch')
      .filter({ hasText: /must be >= 1/ })
      .waitFor();
    await page.getByLabel(/^Batch window/).fill('');
    expect(await unlabelledControls(page)).toEqual([]);
    const order = await tabOrder(page);
    for (const control of ['Webhooks', 'Overview', 'Sign out', 'Domain id', 'Show', 'Name', 'URL', 'Create'])
      expect(
        order.some((n) => n.startsWith(control)),
        `${control} in ${order.join(' | ')}`,
      ).toBe(true);

    await page.getByLabel('URL').fill(`${receiver.url}/ok`);
    await page.getByLabel(/^Events/).fill('activity.sent');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'Orders' }).waitFor();
    const id = decodeURIComponent(new URL(page.url()).hash.split('/')[2] ?? '');
    // A new webhook has no attempt yet: its circuit is closed.
    expect(await page.locator('#circuit').textContent()).toBe('Circuit: closed');
    const secret = (await api.call('GET', `/v1/webhooks/${id}`)).body.data.secret as string;
    // The secret reaches the page only after the explicit click.
    expect(await page.content()).not.toContain(secret);
    await page.getByRole('button', { name: 'Reveal signing secret' }).click();
    await page.locator('#secret-value').filter({ hasText: secret }).waitFor();
    await page.getByRole('button', { name: 'Rotate signing secret' }).click();
    // 24 h: the API's default grace, read back from the old secret's expiry.
    await page.getByText(/keeps signing beside it until .* \(grace period 24 h\)/).waitFor();
    expect(await page.locator('#secret').textContent()).toContain(secret);

    await page.getByRole('button', { name: 'Send a test' }).click();
    await page.getByRole('heading', { name: 'Test result' }).waitFor();
    expect(await page.locator('#test-status').textContent()).toBe('200');
    expect(await page.locator('#test-delivered').textContent()).toBe('yes');
    await waitFor(() => receiver.requests.length > 0);
    expect(await unlabelledControls(page)).toEqual([]);
    const detailOrder = await tabOrder(page);
    for (const control of [
      'Delivery attempts',
      'Dead letters',
      'Name',
      'Save',
      'Hide signing secret',
      'Send a test',
      'Delete…',
    ])
      expect(
        detailOrder.some((n) => n.startsWith(control)),
        `${control} in ${detailOrder.join(' | ')}`,
      ).toBe(true);

    // The edit form shows the API's message beside the field, and nothing changes.
    await page.getByLabel('URL').fill('ftp://example.test/');
    await page.getByRole('button', { name: 'Save' }).click();
    await waitFor(async () => ((await page.locator('#e-url').textContent()) ?? '').length > 0);
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.url).toBe(`${receiver.url}/ok`);
    await page.getByLabel('URL').fill(`${receiver.url}/ok`);
    // The content filter: not JSON is caught in the page; a mistake shows the exact place the API names.
    const filterBox = page.getByLabel('Content filter', { exact: false });
    await filterBox.fill('{"data":');
    await page.getByRole('button', { name: 'Save' }).click();
    await waitFor(async () => ((await page.locator('#e-filter').textContent()) ?? '').startsWith('Not JSON'));
    await filterBox.fill('{"$and":[{},{"data":{"template_id":{"$in":"tpl-1"}}}]}');
    await page.getByRole('button', { name: 'Save' }).click();
    await waitFor(async () =>
      ((await page.locator('#e-filter').textContent()) ?? '').includes('filter.$and[1].data.template_id.$in'),
    );
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.filter).toBeNull();
    await filterBox.fill('{"data":{"template_id":{"$in":["tpl-1"]}}}');
    // The rate limit: past its bound the API's message is shown beside it; then a valid one is saved.
    const rateBox = page.getByLabel('Rate limit', { exact: false });
    await rateBox.fill('5000');
    await page.getByRole('button', { name: 'Save' }).click();
    await waitFor(async () => ((await page.locator('#e-rate_limit').textContent()) ?? '').length > 0);
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.rate_limit).toBeNull();
    await rateBox.fill('2.5');
    await page.getByLabel('Enabled').uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.enabled).toBe(false);
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.filter).toEqual({
      data: { template_id: { $in: ['tpl-1'] } },
    });
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.rate_limit).toEqual({ per_second: 2.5 });
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect((await api.call('GET', `/v1/webhooks/${id}`)).status).toBe(200);
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Yes, delete Orders' }).click();
    await page.getByText('No webhooks.').waitFor();
    expect((await api.call('GET', `/v1/webhooks/${id}`)).status).toBe(404);
    await page.close();
  });

  it('filters attempts by status class and time, pages through them, and opens an attempt’s detail', async () => {
    const w = await createWebhook(uniq('dom-attempts'), 'Paged');
    const now = Date.now();
    const attempt = (i: number, status: number | null): AttemptRecord => ({
      webhook_id: w.id,
      batch_id: `batch-${i}`,
      attempt: (i % 3) + 1,
      tier: i % 3 === 0 ? 'main' : '10s',
      at: now - (30 - i) * 1000,
      status,
      latency_ms: 10 + i,
      outcome: status === 200 ? 'delivered' : 'retry',
      error: status === null ? 'ECONNREFUSED' : null,
      response_excerpt: status === null ? null : `answer ${i}`,
      event_count: 2,
    });
    const records = Array.from({ length: 25 }, (_, i) =>
      attempt(i, i % 5 === 0 ? 503 : i % 7 === 0 ? null : 200),
    );
    await producer.send(
      env.catalog.topics.attempts.name,
      records.map((r) => ({ key: r.webhook_id, value: JSON.stringify(r) })),
    );
    await waitFor(
      async () => (await api.call('GET', `/v1/webhooks/${w.id}/attempts`)).body.meta.total === 25,
    );
    const page = await signedIn(browser, url(), TOKENS.backend);
    await page.goto(`${url()}/console#/webhooks/${w.id}/attempts`);
    await page.getByRole('table', { name: /25 attempts, page 1 of 2/ }).waitFor();
    await page.getByRole('link', { name: 'Older →' }).click();
    await page.getByRole('table', { name: /page 2 of 2/ }).waitFor();
    expect(await page.locator('tbody tr').count()).toBe(5);
    await page.getByLabel('Status class').selectOption('5xx');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('table', { name: /5 attempts answered 5xx/ }).waitFor();
    // From the 11th second on: batch-10, -15, -20 remain.
    await page.getByLabel('From (UTC)').fill(new Date(now - 20_000).toISOString().slice(0, 19));
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByRole('table', { name: /3 attempts answered 5xx/ }).waitFor();
    await page.getByRole('link', { name: 'Details of attempt 2 of batch batch-10' }).click();
    const detail = page.locator('#attempt-detail');
    await detail.getByRole('heading').waitFor();
    for (const text of ['batch-10', '503', '10s', '20 ms', 'answer 10'])
      expect(await detail.textContent()).toContain(text);
    expect(await unlabelledControls(page)).toEqual([]);
    await page.close();
  });

  it('replays hundreds of dead letters with live progress, then shows the true summary', {
    timeout: 180_000,
  }, async () => {
    // Named like the demo's webhooks (scripts/start.ts), since the screenshot goes in the docs.
    const w = await createWebhook('dom-1', 'analytics (JSON Lines)', '/ok/jsonl');
    const base = Date.now() - 120_000;
    const letters = Array.from({ length: 300 }, (_, i) => batchDeadLetter(w.id, base + i * 10));
    await producer.send(
      env.catalog.topics.dlq.name,
      letters.map((l) => ({ key: w.id, value: JSON.stringify(l) })),
    );
    await waitFor(
      async () => (await api.call('GET', `/v1/webhooks/${w.id}/dead-letters`)).body.data.total === 300,
      { what: '300 dead letters held' },
    );
    const page = await signedIn(browser, url(), TOKENS.backend);
    await page.goto(`${url()}/console#/webhooks/${w.id}/dead-letters`);
    await page.getByRole('table', { name: '300 dead letters by reason' }).waitFor();
    // 20 a second: chunks of 4, fifteen seconds, so states between the first and the last are shown
    // (and the screenshots, taken after the page's checks at two widths, still catch it moving).
    await page.getByLabel(/^At most, per second/).fill('20');
    await page.getByRole('button', { name: 'Replay', exact: true }).click();
    const midway = page.locator('#replay-progress').filter({ hasText: /sent ([1-9]\d?|[12]\d\d) of 300/ });
    await midway.waitFor();
    expect(Number(await page.locator('#replay-bar').getAttribute('value'))).toBeGreaterThan(0);
    await snap(page, 'dead-letters-replaying', '#replay');
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('heading', { name: 'Replay done' }).waitFor({ timeout: 60_000 });
    expect(await page.locator('#replay-summary').textContent()).toBe(
      '300 matched; replayed 300 (300 events).',
    );
    const after = (await api.call('GET', `/v1/webhooks/${w.id}/dead-letters?limit=500`)).body.data;
    expect(after.letters.filter((l: { replayed_at: string | null }) => l.replayed_at).length).toBe(300);
    expect(await unlabelledControls(page)).toEqual([]);
    await page.close();
  });

  it("a customer token reaches its own domain's pages and nothing of another domain, by any page or URL", async () => {
    const other = await createWebhook(uniq('dom-other'), 'Not yours');
    await producer.send(env.catalog.topics.dlq.name, [
      { key: other.id, value: JSON.stringify(batchDeadLetter(other.id, Date.now())) },
    ]);
    const own = await createWebhook(SCOPED_DOMAIN, uniq('Mine'));
    const page = await signedIn(browser, url(), TOKENS.scoped);
    for (const path of [
      `#/webhooks/${other.id}`,
      `#/webhooks/${other.id}/attempts`,
      `#/webhooks/${other.id}/attempts?show=0-0`,
      `#/webhooks/${other.id}/dead-letters`,
      `#/webhooks/${encodeURIComponent(other.id)}%2F..`,
    ]) {
      await page.goto(`${url()}/console${path}`);
      await page.getByRole('heading', { name: 'Not found (404)' }).waitFor();
      const html = await page.content();
      expect(html, path).not.toContain('Not yours');
      expect(html, path).not.toContain(other.secret);
      if (path === `#/webhooks/${other.id}`) await shoot(page, 'not-found');
    }
    await page.goto(`${url()}/console#/overview`);
    await page.getByRole('heading', { name: 'Not allowed (403)' }).waitFor();
    await shoot(page, 'forbidden');
    // A domain outside the token's scope looks exactly like one without webhooks (the API's rule).
    await page.goto(`${url()}/console#/?domain_id=${other.domain_id}`);
    await page.getByText('No webhooks.').waitFor();
    expect(await page.content()).not.toContain('Not yours');
    // Its own domain: the list, the detail, the attempts and the dead letters.
    await page.goto(`${url()}/console#/?domain_id=${SCOPED_DOMAIN}`);
    await page.getByRole('link', { name: /^Mine/ }).click();
    await page.getByRole('link', { name: 'Delivery attempts' }).click();
    await page.getByRole('heading', { name: /^Delivery attempts of Mine/ }).waitFor();
    await page.goto(`${url()}/console#/webhooks/${own.id}/dead-letters`);
    await page.getByRole('heading', { name: /^Dead letters of Mine/ }).waitFor();
    await page.close();
  });

  it('a bad token lands on the sign-in page with the reason, and the token never appears in the URL', async () => {
    const page = await browser.newPage();
    await page.goto(`${url()}/console`);
    await page.getByLabel('API token').fill('tok-wrong-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted (401)' }).waitFor();
    await shoot(page, 'sign-in');
    await page.getByLabel('API token').fill(TOKENS.backend);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();
    expect(page.url()).not.toContain(TOKENS.backend);
    await page.close();
  });
});
