/**
 * The web console: static files (HTML, vanilla JS modules, one per page, and one stylesheet) read once at start and
 * served under /console. They carry no data: the page calls the /v1 API itself with the bearer token the
 * operator pasted (kept in sessionStorage), so the same domain scoping applies and no cookie ever
 * authenticates a state change (CSRF cannot ride on it).
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';

const ASSETS = {
  '/console': { file: 'console.html', type: 'text/html; charset=utf-8' },
  '/console/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/console/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' },
  '/console/lib.js': { file: 'lib.js', type: 'text/javascript; charset=utf-8' },
  '/console/page-webhooks.js': { file: 'page-webhooks.js', type: 'text/javascript; charset=utf-8' },
  '/console/page-detail.js': { file: 'page-detail.js', type: 'text/javascript; charset=utf-8' },
  '/console/filter-field.js': { file: 'filter-field.js', type: 'text/javascript; charset=utf-8' },
  '/console/page-attempts.js': { file: 'page-attempts.js', type: 'text/javascript; charset=utf-8' },
  '/console/page-deadletters.js': { file: 'page-deadletters.js', type: 'text/javascript; charset=utf-8' },
  '/console/page-overview.js': { file: 'page-overview.js', type: 'text/javascript; charset=utf-8' },
} as const;

// Same origin only, no inline script, no framing by other sites: the token in sessionStorage stays ours.
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; frame-ancestors 'self'; base-uri 'none'; form-action 'none'";

export function registerConsole(app: FastifyInstance): void {
  for (const [url, asset] of Object.entries(ASSETS)) {
    const body = readFileSync(new URL(asset.file, import.meta.url), 'utf8');
    app.get(url, { schema: { hide: true }, config: { public: true } }, async (_request, reply) =>
      reply
        .header('content-type', asset.type)
        .header('content-security-policy', CSP)
        .header('x-content-type-options', 'nosniff')
        .header('referrer-policy', 'no-referrer')
        .header('cache-control', 'no-cache')
        .send(body),
    );
  }
}
