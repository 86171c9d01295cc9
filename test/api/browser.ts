/**
 * The console tests' browser: Debian's chromium (installed by scripts/chromium.sh when missing;
 * Playwright's own download cannot work here) driven by playwright-core, axe-core injected per page,
 * screenshots at 1280 and 390 px.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// Screenshots go to a temp dir on an ordinary run, so a test run never rewrites committed files;
// `npm run docs:console` points CONSOLE_SCREENSHOTS_DIR at docs/console/ to refresh the README's pictures.
const SHOTS = `${
  process.env.CONSOLE_SCREENSHOTS_DIR
    ? resolve(process.env.CONSOLE_SCREENSHOTS_DIR)
    : mkdtempSync(join(tmpdir(), 'hookpost-console-'))
}/`;

export async function launchChromium(): Promise<Browser> {
  execFileSync('bash', [new URL('../../scripts/chromium.sh', import.meta.url).pathname], {
    stdio: 'inherit',
  });
  return chromium.launch({
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
}

/** A new tab on the console, signed in with `token`, showing the webhooks page. */
export async function signedIn(browser: Browser, baseUrl: string, token: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, baseUrl, token);
  return page;
}

/** Signs `page` in with `token` as a person does: the sign-in form, then the webhooks page. */
export async function signIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(`${baseUrl}/console`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Webhooks', exact: true }).waitFor();
}

export async function seriousViolations(page: Page): Promise<string[]> {
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

/**
 * Screenshots of a passing state (a replay moving) at both widths, at once: the viewport with
 * `selector` at its top. The page's checks (shoot) take seconds, and the state is gone by then.
 */
export async function snap(page: Page, name: string, selector: string): Promise<void> {
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await page.locator(selector).evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: `${SHOTS}${name}-${width}.png` });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/**
 * axe at both widths (0 serious or critical violations), no horizontal scrolling at 390 px, then
 * a full-page screenshot at each width.
 */
export async function shoot(page: Page, name: string): Promise<void> {
  await checkPage(page, name, true);
}

/**
 * Every control labelled and reachable with Tab, axe at 1280 and 390 px (0 serious or critical
 * violations), nothing scrolling sideways at 390 px; full-page screenshots at both widths with `save`.
 * Without it, for pages whose committed screenshots come from another test (the demo's run).
 */
export async function checkPage(page: Page, name: string, save = false): Promise<void> {
  expect(await unlabelledControls(page), `${name}: controls without a label`).toEqual([]);
  expect(await unreachableByTab(page), `${name}: controls Tab never reaches`).toEqual([]);
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: 900 });
    expect(await seriousViolations(page), `${name} at ${width} px`).toEqual([]);
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow, `${name} scrolls sideways at ${width} px`).toBeLessThanOrEqual(0);
    if (save) await page.screenshot({ path: `${SHOTS}${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}

/**
 * Tabs through the page from its start until focus comes back round, and returns the accessible names
 * of the focused elements: a control missing from the list is not keyboard reachable.
 */
export async function tabOrder(page: Page, max = 150): Promise<string[]> {
  await page.evaluate(
    "document.querySelectorAll('[data-tabbed]').forEach((e) => e.removeAttribute('data-tabbed'))",
  );
  // From the first link of the page (the brand); focus leaving the document (body) is skipped.
  await page.locator('a').first().focus();
  const names: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const name = (await page.evaluate(`(() => {
      const e = document.activeElement;
      if (!e || e === document.body) return '';
      if (e.hasAttribute('data-tabbed')) return null;
      e.setAttribute('data-tabbed', '');
      const l = e.labels && e.labels[0];
      return (e.getAttribute('aria-label') || (l && l.textContent) || e.textContent || e.id || '').trim().replace(/\\s+/g, ' ');
    })()`)) as string | null;
    if (name === null) break;
    if (name) names.push(name);
  }
  return names;
}

/** Every visible control (input, select, button, link) has an accessible name: axe checks this too; this names them. */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return (await page.evaluate(`[...document.querySelectorAll('input,select,button,textarea')]
    .filter((e) => e.offsetParent !== null)
    .filter((e) => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !(e.textContent || '').trim())
    .map((e) => e.outerHTML.slice(0, 80))`)) as string[];
}

/** Visible controls (links, buttons, inputs, selects) that tabbing through the whole page never focuses. */
async function unreachableByTab(page: Page): Promise<string[]> {
  const count = (await page.evaluate(`(() => {
    const all = [...document.querySelectorAll('a[href],button:not([disabled]),input,select,textarea')]
      .filter((e) => e.offsetParent !== null || e === document.activeElement);
    all.forEach((e, i) => e.setAttribute('data-ctl', String(i)));
    return all.length;
  })()`)) as number;
  await page.evaluate(
    "document.querySelectorAll('[data-reached]').forEach((e) => e.removeAttribute('data-reached'))",
  );
  await page.locator('a').first().focus();
  await page.evaluate("document.activeElement.setAttribute('data-reached', '')");
  // A date-time input takes one Tab stop per part (day, month, year, hours, …), hence the bound.
  for (let i = 0; i < count * 8 + 10; i++) {
    await page.keyboard.press('Tab');
    const left = (await page.evaluate(`(() => {
      document.activeElement?.setAttribute('data-reached', '');
      return document.querySelectorAll('[data-ctl]:not([data-reached])').length;
    })()`)) as number;
    if (left === 0) break;
  }
  const missed = (await page.evaluate(`[...document.querySelectorAll('[data-ctl]:not([data-reached])')]
    .map((e) => e.outerHTML.slice(0, 100))`)) as string[];
  await page.evaluate(`document.querySelectorAll('[data-ctl],[data-reached]').forEach((e) => {
    e.removeAttribute('data-ctl');
    e.removeAttribute('data-reached');
  })`);
  await page.evaluate('document.activeElement?.blur?.()');
  return missed;
}
