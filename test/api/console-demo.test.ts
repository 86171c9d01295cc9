/**
 * The console over the real demo, as a newcomer sees it: `npm start` (scripts/start.ts, its own stack on
 * ports of its own, see demo.ts) with its three webhooks, its MTA traffic, its always-failing webhook
 * that ends suspended and its dead letters. Once the story has happened (batches delivered, the webhook
 * suspended, its dead letters indexed) Chromium signs in with the token `npm start` printed and visits
 * every page, each showing the demo's data; the README's screenshots of these pages come from this run
 * (npm run docs:console). The token shows in exactly one line of all `npm start` printed (the hint) and
 * in no URL the browser loaded or navigated to.
 */
import type { Browser, Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import { it } from '../support/fixtures.ts';
import { checkPage, launchChromium, shoot, signIn } from './browser.ts';
import { type Demo, startDemo } from './demo.ts';

let demo: Demo;
let browser: Browser;

// No Kafka of the suite's here (the demo runs its own stack): only `owned`, which closes the browser,
// then stops the demo (its stop bounds itself: SIGKILL after 120 s, then the stack's stop).
it.beforeAll(async ({ owned }) => {
  demo = owned.own(startDemo(), (d) => d.stop());
  browser = owned.own(await launchChromium(), (b) => b.close());
}, 600_000);

/** The names of the webhooks scripts/start.ts creates. */
const HOOKS = { orders: 'orders (JSON)', analytics: 'analytics (JSON Lines)', failing: 'always failing' };
const literal = (s: string) => s.replace(/[()]/g, '\\$&');

async function get(base: string, token: string, path: string) {
  const res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return ((await res.json()) as { data: Record<string, unknown> }).data;
}

describe('the console over `npm start`', () => {
  it('shows the demo’s story on every page; the token is in one hint line and no URL', {
    timeout: 900_000,
  }, async () => {
    // The stack (JVMs) and six services start on a loaded machine: the bound is a last resort.
    const [, base, token] = await demo.line(
      /console on (http:\/\/127\.0\.0\.1:31090)\/console — sign in with the demo token (\S+)$/,
      'the console hint',
      600_000,
    );
    expect(token).toBe(demo.secrets().apiToken);
    const ids: Record<string, string> = {};
    for (const [key, name] of Object.entries(HOOKS)) {
      const m = await demo.line(
        new RegExp(`created webhook "${literal(name)}" (\\S+) on (dom-\\d)`),
        `webhook ${name}`,
      );
      ids[key] = m[1]!;
    }

    // The story: both good webhooks get batches, the failing one walks the tiers and is suspended.
    await demo.line(
      /delivered +batch of +\d+ events → "orders \(JSON\)".*signature verified/,
      'orders batch',
    );
    await demo.line(/delivered +batch of +\d+ events → "analytics \(JSON Lines\)"/, 'analytics batch');
    await demo.line(/webhook\.suspended "always failing": exhausted/, 'the suspension', 180_000);
    // …and the API has indexed its dead letters and recorded the delivered attempts.
    await waitFor(
      async () => {
        const d = await get(base!, token!, `/v1/webhooks/${ids.failing}/dead-letters`);
        return (d.by_reason as { reason: string }[]).some((r) => r.reason === 'exhausted');
      },
      { timeoutMs: 120_000, what: 'the exhausted batch in the dead-letter index' },
    );
    for (const key of ['orders', 'failing'])
      await waitFor(
        async () => Number((await get(base!, token!, `/v1/webhooks/${ids[key]}/stats`)).attempts) > 0,
        { timeoutMs: 120_000, what: `${key} attempts in the history` },
      );

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const urls: string[] = [];
    page.on('request', (r) => urls.push(r.url()));
    page.on('framenavigated', (f) => urls.push(f.url()));
    await signIn(page, base!, token!);
    await shoot(page, 'signed-in');
    const open = async (hash: string, ready: string | RegExp) => {
      await waitFor(
        async () => {
          const target = `${base}/console${hash}`;
          // A hash change keeps the document: empty the page first, so what is read next is the new page.
          await page.evaluate("document.querySelector('main')?.replaceChildren()");
          if (page.url() === target) await page.reload();
          else await page.goto(target);
          await page.locator('main h1').waitFor();
          return (await page.locator('main').getByText(ready).count()) > 0;
        },
        { timeoutMs: 60_000, what: `${hash} showing ${ready}` },
      );
    };
    const main = async () => (await page.locator('main').textContent()) ?? '';

    // Webhooks: the delivering one with its 24 h figures, then the suspended one.
    await open('#/?domain_id=dom-0', '✓ HTTP 200');
    expect(await main()).toContain(HOOKS.orders);
    // Its 24 h figures from the attempt history: a success rate over a non-zero count of attempts.
    expect(await main()).toMatch(/[1-9]\d*\.\d %\s*of [1-9]\d*/);
    await shoot(page, 'webhooks-active');
    await open('#/?domain_id=dom-2', 'suspended: exhausted');
    expect(await main()).toContain(HOOKS.failing);
    expect(await main()).toMatch(/✗ (HTTP 500|circuit_open)/);
    expect(await main()).toMatch(/0\.0 %\s*of [1-9]\d*/);
    await shoot(page, 'webhooks');
    await open('#/?domain_id=dom-1', HOOKS.analytics);
    expect(await main()).toContain('jsonl');
    await checkPage(page, 'webhooks of dom-1');

    // The suspended webhook's detail, its attempts (500s, then circuit_open while its circuit is open)
    // and one attempt's detail.
    await open(`#/webhooks/${ids.failing}`, 'suspended: exhausted');
    expect(await page.getByLabel('Name').inputValue()).toBe(HOOKS.failing);
    // Its circuit, as the real delivery recorded it on its newest attempt: a streak of failures, or
    // open by them (main and retry-tier consumers are separate processes, each with its own circuit,
    // so the one that tried last may not have reached the 5 that open it).
    expect(await main()).toMatch(
      /Circuit: (closed \([1-9]\d* failed in a row\)|open: no requests until the probe|half-open: the next attempt is the probe)/,
    );
    await shoot(page, 'webhook-detail');
    await open(`#/webhooks/${ids.failing}/attempts`, /HTTP 500/);
    const attempts = page.getByRole('table', { name: /^[1-9]\d* attempts?/ });
    await attempts.waitFor();
    expect(await attempts.textContent()).toMatch(/10s \/ 4/);
    await shoot(page, 'attempts');
    await page
      .getByRole('link', { name: /^Details of attempt 4 of batch / })
      .first()
      .click();
    const detail = page.locator('#attempt-detail');
    await detail.getByRole('heading').waitFor();
    // Attempt 4 is a 500, or skipped because the webhook's circuit opened after its failures.
    expect(await detail.textContent()).toMatch(/500 \(5xx, dead\)|Error\s*circuit_open/);
    expect(await detail.textContent()).toMatch(/Tier10s/);
    await shoot(page, 'attempt-detail');
    await open(`#/webhooks/${ids.orders}/attempts?status=2xx`, /delivered/);
    await checkPage(page, 'attempts of orders');

    // Dead letters: the exhausted batch and what the suspension dead-lettered; a dry run of the batch.
    await open(`#/webhooks/${ids.failing}/dead-letters`, 'exhausted');
    const byReason = page.getByRole('table', { name: /^[1-9]\d* dead letters? by reason$/ });
    expect(await byReason.textContent()).toMatch(/exhausted/);
    await page.getByLabel('exhausted', { exact: true }).check();
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByRole('heading', { name: 'Dry run: nothing was sent' }).waitFor();
    expect(await page.locator('#replay-summary').textContent()).toMatch(
      /^[1-9]\d* matched; would replay [1-9]\d* \([1-9]\d* events?\); would resume the webhook first\.$/,
    );
    await shoot(page, 'dead-letters');

    // The overview: the demo's own consumer groups and topics, its suspension and dead letters.
    await open('#/overview', HOOKS.failing);
    const text = await main();
    // Stage, group, topic, lag: the group right after its stage's name, no test prefix before it.
    // The demo runs no fan-out: the batcher reads email.events itself (BATCHER_INPUT=events).
    const stages: [string, string, string][] = [
      ['batcher', 'hookpost-batcher\\.events', 'email\\.events'],
      ['batcher', 'hookpost-batcher', 'webhooks\\.dispatch'],
      ['delivery', 'hookpost-delivery', 'webhooks\\.batches'],
    ];
    for (const [stage, group, topic] of stages)
      expect(text).toMatch(new RegExp(`${stage}\\s*${group}\\s*${topic}\\s*\\d+`));
    expect(text).not.toMatch(/hookpost-fanout/);
    expect(await page.locator('#ov-suspended').textContent()).toBe('1');
    expect(text).toContain('suspended of 3 webhooks');
    expect(await page.locator('#ov-dlq-hour').textContent()).toMatch(/^\+[1-9]\d*$/);
    expect(await page.locator('#ov-success').textContent()).toMatch(/^[1-9]\d*\.\d %$/);
    await shoot(page, 'overview');

    await expectTokenHidden(page, urls, token!);
    await page.close();
  });
});

/** The token: in the tab's sessionStorage only, in no URL, cookie or localStorage, and in one line of the log. */
async function expectTokenHidden(page: Page, urls: string[], token: string) {
  expect(urls.length).toBeGreaterThan(10);
  expect(urls.filter((u) => u.includes(token))).toEqual([]);
  expect(await page.evaluate('JSON.stringify(localStorage)')).not.toContain(token);
  expect(await page.evaluate('JSON.stringify(sessionStorage)')).toContain(token);
  expect(JSON.stringify(await page.context().cookies())).not.toContain(token);
  const withToken = demo.lines.filter((l) => l.includes(token));
  expect(withToken).toHaveLength(1);
  expect(withToken[0]).toMatch(/console on \S+\/console — sign in with the demo token/);
  // The API logged every request the browser made (LOG_LEVEL=info), so the check above covered them.
  expect(demo.lines.filter((l) => l.includes('"url":"/v1/overview"')).length).toBeGreaterThan(0);
}
