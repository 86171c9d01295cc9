import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Receiver, startReceiver } from '@hookpost/sender';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv, testEnv, uniq, waitFor } from '../support/env.ts';
import { SCOPED_DOMAIN, startTestApi, TOKENS } from './support.ts';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// Screenshots go to a temp dir on an ordinary run, so a test run never rewrites committed files;
// `npm run docs:console` points CONSOLE_SCREENSHOTS_DIR at docs/console/ to refresh the README's pictures.
const SHOTS = `${
  process.env.CONSOLE_SCREENSHOTS_DIR
    ? resolve(process.env.CONSOLE_SCREENSHOTS_DIR)
    : mkdtempSync(join(tmpdir(), 'hookpost-console-'))
}/`;

let env: TestEnv;
let api: Awaited<ReturnType<typeof startTestApi>>;
let receiver: Receiver;
let browser: Browser;

beforeAll(async () => {
  // Debian's chromium, installed by the project's script when missing (Playwright's download cannot work here).
  execFileSync('bash', [new URL('../../scripts/chromium.sh', import.meta.url).pathname], {
    stdio: 'inherit',
  });
  env = await testEnv();
  receiver = await startReceiver();
  api = await startTestApi(env);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 300_000);
afterAll(async () => {
  await browser?.close();
  await api?.stop();
  api?.cleanup();
  await receiver?.close();
  await env?.close();
});

async function signedIn(token: string, width = 1280): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 900 } });
  await page.goto(`${api.api.url}/console`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
  return page;
}

async function seriousViolations(page: Page): Promise<string[]> {
  // evaluate runs outside the page's CSP, which (rightly) forbids inline scripts.
  await page.evaluate(`${AXE}\n;0`);
  // A string: it runs in the page, where axe (injected above) and the DOM exist.
  const result = await page.evaluate('axe.run(document)');
  return (
    (result as { violations: unknown }).violations as {
      id: string;
      impact: string;
      nodes: { target: string[] }[];
    }[]
  )
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}) at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function shoot(page: Page, name: string): Promise<void> {
  expect(await seriousViolations(page), name).toEqual([]);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: `${SHOTS}${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

describe('console in a real browser', () => {
  it('an operator creates a webhook, sends a test and sees the receiver answer', async () => {
    const page = await signedIn(TOKENS.backend);
    await shoot(page, 'signed-in');
    const domain = uniq('dom-console');
    await page.getByLabel('Domain id').fill(domain);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('heading', { name: 'New webhook' }).waitFor();
    // The API's validation message appears beside the field.
    await page.getByLabel('Name').fill('Orders');
    await page.getByLabel('URL').fill('not a url');
    await page.getByLabel(/^Events/).fill('activity.sent');
    await page.evaluate("document.getElementById('c-url').setAttribute('type', 'text')");
    await page.getByRole('button', { name: 'Create' }).click();
    await waitFor(async () => ((await page.locator('#ce-url').textContent()) ?? '').length > 0);
    await shoot(page, 'webhooks');

    await page.getByLabel('URL').fill(`${receiver.url}/ok`);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('heading', { name: 'Orders' }).waitFor();
    await page.getByRole('button', { name: 'Send a test' }).click();
    await page.getByRole('heading', { name: 'Test result' }).waitFor();
    const out = (await page.locator('#out pre').textContent()) ?? '';
    expect(JSON.parse(out).data).toMatchObject({ delivered: true, status: 200 });
    await waitFor(() => receiver.requests.length > 0);
    await shoot(page, 'webhook-detail');

    await page.getByRole('link', { name: /Webhooks of/ }).click();
    await page.getByRole('link', { name: 'Orders' }).waitFor();
    await page.close();
  });

  it("a customer token cannot reach another domain's webhook, even by its detail URL", async () => {
    const other = await api.call('POST', '/v1/webhooks', {
      domain_id: uniq('dom-other'),
      name: 'Not yours',
      url: receiver.url,
      events: ['activity.sent'],
    });
    expect(other.status).toBe(201);
    const page = await signedIn(TOKENS.scoped);
    await page.goto(`${api.api.url}/console#/webhooks/${other.body.data.id}`);
    await page.getByRole('heading', { name: 'Not found (404)' }).waitFor();
    expect(await page.content()).not.toContain('Not yours');
    await shoot(page, 'not-found');

    await page.goto(`${api.api.url}/console#/?domain_id=${other.body.data.domain_id}`);
    // A domain outside the token's scope looks exactly like one without webhooks (the API's rule).
    await page.getByText('No webhooks.').waitFor();
    expect(await page.content()).not.toContain('Not yours');
    // Its own domain is fine.
    await page.goto(`${api.api.url}/console#/?domain_id=${SCOPED_DOMAIN}`);
    await page.getByRole('heading', { name: 'New webhook' }).waitFor();
    await page.close();
  });

  it('a bad token lands on the sign-in page with the reason, and the token never appears in the URL', async () => {
    const page = await browser.newPage();
    await page.goto(`${api.api.url}/console`);
    await page.getByLabel('API token').fill('tok-wrong-0123456789');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not accepted (401)' }).waitFor();
    await shoot(page, 'sign-in');
    await page.getByLabel('API token').fill(TOKENS.backend);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Webhooks' }).waitFor();
    expect(page.url()).not.toContain(TOKENS.backend);
    await page.close();
  });
});
