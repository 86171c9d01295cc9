import { describe, expect } from 'vitest';
import { apiTest, TOKENS } from './support.ts';

const it = apiTest();

const MODULES = [
  '/console/app.js',
  '/console/lib.js',
  '/console/page-webhooks.js',
  '/console/page-detail.js',
  '/console/filter-field.js',
  '/console/page-attempts.js',
  '/console/page-deadletters.js',
  '/console/page-overview.js',
];

describe('console assets', () => {
  it('serves the page, script and stylesheet without a token, with a strict same-origin CSP', async ({
    api,
  }) => {
    for (const [path, type] of [
      ['/console', 'text/html'],
      ['/console/app.css', 'text/css'],
      ...MODULES.map((m) => [m, 'text/javascript'] as const),
    ] as const) {
      const res = await api.call('GET', path, undefined, null);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("connect-src 'self'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('ships no external resource and no token: the page calls /v1 with the bearer header from sessionStorage', async ({
    api,
  }) => {
    const html = (await api.call('GET', '/console', undefined, null)).body as string;
    // Every module the page loads, found by following its imports from app.js.
    const seen = new Set<string>();
    const queue = ['/console/app.js'];
    let js = '';
    while (queue.length > 0) {
      const path = queue.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const text = (await api.call('GET', path, undefined, null)).body as string;
      js += text;
      for (const m of text.matchAll(/from '\.\/([a-z-]+\.js)'/g)) queue.push(`/console/${m[1]}`);
    }
    expect([...seen].sort()).toEqual([...MODULES].sort());
    const css = (await api.call('GET', '/console/app.css', undefined, null)).body as string;
    for (const text of [html, js, css]) {
      expect(text).not.toMatch(/https?:\/\//);
      for (const token of Object.values(TOKENS)) expect(text).not.toContain(token);
    }
    expect(js).toContain('sessionStorage');
    expect(js).toContain('authorization: `Bearer');
    expect(js).not.toMatch(/document\.cookie|credentials:\s*'include'/);
  });

  it('leaves the /v1 gate as it was: the API the console calls still needs a token', async ({ api }) => {
    expect((await api.call('GET', '/v1/webhooks?domain_id=d', undefined, null)).status).toBe(401);
    expect((await api.call('GET', '/v1/webhooks/nope', undefined, TOKENS.scoped)).status).toBe(404);
  });

  it('keeps the console out of the OpenAPI document', async ({ api }) => {
    const doc = (await api.call('GET', '/openapi.json', undefined, null)).body;
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/console'))).toBe(false);
  });
});
