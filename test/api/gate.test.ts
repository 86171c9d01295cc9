/**
 * The API has one gate: authentication and scope are decided on the route the router matched, so no
 * spelling of a path reaches a handler without a token. Every route the app registered (enumerated from
 * fastify, so a new route is covered without touching this file) is called under many spellings of its
 * path, without a token, with a token of another domain and, on write routes, with a read-only token.
 * Requests are written to a socket byte for byte (fetch and node:http would normalise or refuse some
 * paths), one connection each: node's parser closes the connection after a request line it refuses.
 */
import { connect } from 'node:net';
import type { Receiver } from '@hookpost/sender';
import { describe, expect } from 'vitest';
import { uniq } from '../support/env.ts';
import { apiTest, type startTestApi, TOKENS } from './support.ts';

const it = apiTest();
let api: Awaited<ReturnType<typeof startTestApi>>;
let receiver: Receiver;
let hidden: { id: string; name: string; secret: string; domain_id: string; version: number };
let hiddenJob: string;

it.beforeAll(async ({ api: a, receiver: r }) => {
  [api, receiver] = [a, r];
  const created = await api.call('POST', '/v1/webhooks', {
    url: `${receiver.url}/ok`,
    name: uniq('gate-hidden-name'),
    events: ['activity.sent'],
    domain_id: uniq('dom-gate'),
  });
  expect(created.status).toBe(201);
  hidden = created.body.data;
  // A replay job of the hidden webhook, so the job route is probed at a job that exists.
  const job = await api.call('POST', `/v1/webhooks/${hidden.id}/replays`, { dry_run: true });
  expect(job.status).toBe(202);
  hiddenJob = job.body.data.id;
});

interface Answer {
  status: number;
  text: string;
}

/**
 * One request on its own connection, written byte for byte; the answer is read until the server closes.
 * `body` is sent as JSON; `bytes` as they are, with `type` as the content type (none when null).
 */
function raw(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  opts: { bytes?: Buffer; type?: string | null } = {},
): Promise<Answer> {
  const payload = opts.bytes ?? (body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
  const lines = [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', 'connection: close'];
  if (token) lines.push(`authorization: Bearer ${token}`);
  const type = opts.type === undefined ? 'application/json' : opts.type;
  if (payload) {
    if (type) lines.push(`content-type: ${type}`);
    lines.push(`content-length: ${payload.length}`);
  }
  return new Promise((resolve, reject) => {
    const socket = connect(api.api.port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const answer = (): Answer | undefined => {
      const all = Buffer.concat(chunks).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(all)?.[1];
      const at = all.indexOf('\r\n\r\n');
      if (!status) return undefined;
      return {
        status: Number(status),
        text: at < 0 ? '' : Buffer.from(all.slice(at + 4), 'latin1').toString(),
      };
    };
    socket.on('data', (c: Buffer) => chunks.push(c));
    // A server that refuses a large body early may reset the connection while it is still being sent.
    socket.on('error', (e) => {
      const got = answer();
      if (got) resolve(got);
      else reject(new Error(`${method} ${path}: ${e.message}`));
    });
    socket.on('close', () => resolve(answer() ?? { status: 0, text: '' }));
    // No half-close: Node's server drops a connection whose client ended before the answer was ready.
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (payload) socket.write(payload);
  });
}

const hex = (c: string) => [...Buffer.from(c)].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
const HEX = (c: string) => hex(c).toUpperCase();

/** Spellings of `path` (no query) that a router or a proxy might treat as the same resource. */
function spellings(path: string): string[] {
  const out = new Set<string>([path]);
  const chars = [...path];
  const at = (i: number, s: string) => chars.map((c, j) => (j === i ? s : c)).join('');
  const segs = path.split('/').slice(1);
  const join = (parts: string[]) => `/${parts.join('/')}`;
  const perSegment = (f: (seg: string) => string) =>
    segs.map((_, i) => join(segs.map((s, j) => (j === i ? f(s) : s))));
  chars.forEach((c, i) => {
    // Percent-encoding of any single character, in both hex cases; a slash encoded too.
    out.add(at(i, HEX(c)));
    out.add(at(i, hex(c)));
    if (c === '/') {
      out.add(at(i, '//'));
      out.add(at(i, '\\'));
      out.add(at(i, '%5C'));
      out.add(at(i, '%C0%AF'));
    } else {
      out.add(at(i, `%25${HEX(c).slice(1)}`)); // double encoding
      out.add(at(i, `${c}\0`)); // a raw NUL byte
      out.add(at(i, c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase()));
    }
  });
  out.add(chars.map(HEX).join(''));
  out.add(chars.map((c) => (c === '/' ? c : HEX(c))).join(''));
  out.add(path.replaceAll('/', '//'));
  out.add(path.replaceAll('/', '%2F'));
  out.add(path.replaceAll('/', '\\'));
  out.add(path.toUpperCase());
  for (const tail of [
    '/',
    '//',
    '/.',
    '/./',
    '%2F',
    '%00',
    ';',
    ';a=b',
    '%3B',
    '?',
    '#',
    '%23',
    '%20',
    '.json',
    '..',
  ])
    out.add(path + tail);
  for (const head of [
    '/',
    '/.',
    '/x/..',
    '/x/../',
    '/%2e',
    '/x/%2e%2e',
    '/x/.%2E',
    '//x/..',
    '/./.',
    '/v1/..',
  ])
    out.add(head + path);
  for (const s of perSegment((seg) => `${seg};`)) out.add(s);
  for (const s of perSegment((seg) => `${seg};jsessionid=1`)) out.add(s);
  for (const s of perSegment((seg) => `${seg}%3B`)) out.add(s);
  for (const s of perSegment((seg) => `${seg}%00`)) out.add(s);
  for (const s of perSegment((seg) => `%00${seg}`)) out.add(s);
  for (const s of perSegment((seg) => `${seg}/.`)) out.add(s);
  for (const s of perSegment((seg) => `${seg}/%2e`)) out.add(s);
  for (const s of perSegment((seg) => `x/../${seg}`)) out.add(s);
  for (const s of perSegment((seg) => `${seg}/x/..`)) out.add(s);
  for (const s of perSegment((seg) => seg.toUpperCase())) out.add(s);
  for (const s of perSegment((seg) => seg.charAt(0).toUpperCase() + seg.slice(1))) out.add(s);
  for (const s of perSegment((seg) => `${seg}%09`)) out.add(s);
  return [...out];
}

/** A concrete call of a route: its path with the hidden webhook's id, and a body that would pass. */
function callOf(method: string, url: string): { path: string; query: string; body?: unknown } {
  const path = url.replaceAll(':id', hidden.id).replaceAll(':job', hiddenJob);
  const query =
    url === '/v1/webhooks' && (method === 'GET' || method === 'HEAD') ? `?domain_id=${hidden.domain_id}` : '';
  let body: unknown;
  if (method === 'POST' && url === '/v1/webhooks')
    body = {
      url: `${receiver.url}/ok`,
      name: 'gate-probe',
      events: ['activity.sent'],
      domain_id: hidden.domain_id,
    };
  else if (method === 'PUT') body = { name: 'renamed-through-the-gate' };
  else if (method === 'POST') body = { dry_run: true };
  return { path, query, body };
}

/** Nothing of the hidden webhook (its name, its secret) and no `data` in an answer to a refused caller. */
function revealsNothing(answer: Answer, what: string) {
  expect(answer.text, what).not.toContain(hidden.name);
  expect(answer.text, what).not.toContain(hidden.secret);
  let json: { data?: unknown } | null = null;
  try {
    json = JSON.parse(answer.text);
  } catch {
    // Not JSON (a HEAD, or node's own 400): nothing to inspect beyond the text above.
  }
  const data = json?.data;
  expect(data === undefined || (Array.isArray(data) && data.length === 0), what).toBe(true);
}

async function inBatches<T>(items: T[], size: number, work: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(work));
}

describe('one gate for every route and every spelling of its path', () => {
  it('enumerates the routes from fastify, and the calls built for them reach their handlers', async () => {
    const routes = api.api.routes;
    expect(routes.length).toBeGreaterThanOrEqual(10);
    // The GET routes answer 200 to the canonical call with a token: the paths below are real ones.
    for (const r of routes.filter((x) => x.method === 'GET' && !x.public)) {
      const c = callOf(r.method, r.url);
      const a = await raw('GET', c.path + c.query, TOKENS.backend);
      expect(a.status, `${r.method} ${r.url}`).toBe(200);
    }
    // The reported bypass itself, with a token: `%76` is `v`, and the router serves the route.
    const bypass = await raw('GET', `/%761/webhooks?domain_id=${hidden.domain_id}`, TOKENS.backend);
    expect(bypass.status).toBe(200);
    expect(bypass.text).toContain(hidden.id);
  });

  it('only GET routes outside /v1 are public', () => {
    for (const r of api.api.routes.filter((x) => x.public)) {
      expect(['GET', 'HEAD'], `${r.method} ${r.url}`).toContain(r.method);
      expect(r.url.startsWith('/v1'), r.url).toBe(false);
    }
  });

  it('no spelling answers 2xx or reveals data without a token, with another domain’s token, or read-only on a write route', async () => {
    const probes: {
      method: string;
      path: string;
      token: string | null;
      who: string;
      body?: unknown;
      listRoute: boolean;
      isPublic: boolean;
    }[] = [];
    for (const r of api.api.routes) {
      const c = callOf(r.method, r.url);
      const listRoute = r.url === '/v1/webhooks' && r.method !== 'POST';
      const callers: [string, string | null][] = r.public
        ? [['no token', null]]
        : [
            ['no token', null],
            ['a bad token', 'not-a-token'],
            ['another domain’s token', TOKENS.scoped],
            ...(r.write ? ([['a read-only token', TOKENS.reader]] as [string, string][]) : []),
          ];
      for (const path of spellings(c.path))
        for (const [who, token] of callers)
          probes.push({
            method: r.method,
            path: path + c.query,
            token,
            who,
            body: c.body,
            listRoute,
            isPublic: r.public,
          });
    }
    expect(probes.length).toBeGreaterThan(1000);
    let refused = 0;
    await inBatches(probes, 8, async (p) => {
      const a = await raw(p.method, p.path, p.token, p.body);
      const what = `${p.method} ${p.path} with ${p.who} -> ${a.status} ${a.text.slice(0, 200)}`;
      revealsNothing(a, what);
      if (p.isPublic) return;
      // Another domain's token may list a domain it cannot see: it looks like a domain without webhooks.
      if (p.listRoute && p.token === TOKENS.scoped && a.status === 200) return;
      expect(a.status, what).toBeGreaterThanOrEqual(400);
      refused++;
    });
    expect(refused).toBeGreaterThan(probes.length / 2);
    // And nothing changed behind the gate.
    const after = await api.call('GET', `/v1/webhooks/${hidden.id}`);
    expect(after.body.data).toMatchObject({ name: hidden.name, version: hidden.version });
    const list = await api.call('GET', `/v1/webhooks?domain_id=${hidden.domain_id}`);
    expect(list.body.data).toHaveLength(1);
  });
});

describe('what passes the door: bodies and URLs', () => {
  const webhook = () => ({
    url: `${receiver.url}/ok`,
    name: 'bodies',
    events: ['activity.sent'],
    domain_id: hidden.domain_id,
  });
  const json = (a: Answer) => JSON.parse(a.text) as { message: string; errors?: Record<string, string[]> };

  it('refuses invalid UTF-8 in a JSON body with a 400 naming the body, and stores nothing', async () => {
    const good = Buffer.from(JSON.stringify({ ...webhook(), name: 'n\u00e9' }));
    // The same document with its é as a lone Latin-1 byte, an overlong encoding and a lone surrogate.
    const bad = [
      Buffer.from(JSON.stringify({ ...webhook(), name: 'nX' }).replace('nX', 'n\u00e9'), 'latin1'),
      Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}')]),
      Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')]),
    ];
    for (const bytes of bad) {
      const a = await raw('POST', '/v1/webhooks', TOKENS.backend, undefined, { bytes });
      expect(a.status, a.text).toBe(400);
      expect(json(a).message).toMatch(/body is not valid UTF-8/);
    }
    const ok = await raw('POST', '/v1/webhooks', TOKENS.backend, undefined, { bytes: good });
    expect(ok.status, ok.text).toBe(201);
    expect(JSON.parse(ok.text).data.name).toBe('n\u00e9');
    const list = await api.call('GET', `/v1/webhooks?domain_id=${hidden.domain_id}&limit=100`);
    expect(list.body.data.map((w: { name: string }) => w.name)).not.toContain('n\ufffd');
    await api.call('DELETE', `/v1/webhooks/${JSON.parse(ok.text).data.id}`);
  });

  it('answers 415 to a body that is not application/json, on every route that reads one', async () => {
    const bytes = Buffer.from(JSON.stringify(webhook()));
    const withBody = api.api.routes.filter((r) => ['POST', 'PUT', 'DELETE', 'PATCH'].includes(r.method));
    expect(withBody.length).toBeGreaterThanOrEqual(6);
    for (const r of withBody)
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data', null]) {
        const path = r.url.replaceAll(':id', hidden.id);
        const a = await raw(r.method, path, TOKENS.backend, undefined, { bytes, type });
        expect(a.status, `${r.method} ${path} as ${type}: ${a.text}`).toBe(415);
        expect(json(a).message).toMatch(/application\/json/);
      }
    // The same bytes as JSON are accepted, and a JSON type with parameters is still JSON.
    const ok = await raw('POST', '/v1/webhooks', TOKENS.backend, undefined, {
      bytes,
      type: 'application/json; charset=utf-8',
    });
    expect(ok.status, ok.text).toBe(201);
    await api.call('DELETE', `/v1/webhooks/${JSON.parse(ok.text).data.id}`);
  });

  it('answers 413 just past the body limit and far past it, and reads a body at the limit', async () => {
    const limit = 16_384; // startTestApi's bodyLimitBytes
    const sized = (n: number) => {
      const doc = JSON.stringify({ name: '' });
      return Buffer.from(JSON.stringify({ name: 'x'.repeat(n - doc.length) }));
    };
    const at = await raw('PUT', `/v1/webhooks/${hidden.id}`, TOKENS.backend, undefined, {
      bytes: sized(limit),
    });
    expect(at.status, at.text).toBe(422); // read and validated: the name is too long, not the body
    expect(Object.keys(json(at).errors ?? {})).toEqual(['name']);
    for (const n of [limit + 1, limit * 64]) {
      const a = await raw('PUT', `/v1/webhooks/${hidden.id}`, TOKENS.backend, undefined, { bytes: sized(n) });
      expect(a.status, `${n} bytes`).toBe(413);
      expect(json(a).message).toMatch(/larger than 16384 bytes/);
    }
  });

  it('answers 414 past the URL limit and 431 past Node’s header limit, not a route', async () => {
    const base = `/v1/webhooks?domain_id=${hidden.domain_id}&pad=`;
    const url = (n: number) => base + 'p'.repeat(n - base.length);
    const at = await raw('GET', url(8192), TOKENS.backend);
    expect(at.status, at.text.slice(0, 200)).toBe(200);
    for (const [n, status] of [
      [8193, 414],
      [15_000, 414],
      [17_000, 431],
      [200_000, 431],
    ] as const) {
      const a = await raw('GET', url(n), null);
      expect(a.status, `${n} characters`).toBe(status);
      expect(a.text).not.toContain(hidden.name);
    }
  });
});

describe('unrouted and malformed requests', () => {
  it('answers 405 with Allow to a method a path does not serve, 404 to a path nobody serves', async () => {
    const a = await raw('PATCH', `/v1/webhooks/${hidden.id}`, null);
    expect(a.status).toBe(405);
    const allowed = JSON.parse(a.text).message.split('allowed: ')[1].replace('.', '').split(', ');
    expect(allowed.sort()).toEqual(['DELETE', 'GET', 'HEAD', 'PUT']);
    const t = await raw('TRACE', '/v1/webhooks', TOKENS.backend);
    expect(t.status).toBe(405);
    revealsNothing(t, 'TRACE');
    const q = await raw('QUERY', '/v1/webhooks', TOKENS.backend, undefined, { bytes: Buffer.from('{}') });
    expect(q.status, q.text).toBe(405);
    expect((await raw('PATCH', '/v1/nothing-here', null)).status).toBe(404);
  });

  it('refuses an id past its length with a 422 naming it, and a path that does not decode with a 400', async () => {
    for (const n of [65, 101, 4000]) {
      const a = await raw('GET', `/v1/webhooks/${'i'.repeat(n)}`, TOKENS.backend);
      expect(a.status, `${n}`).toBe(422);
      expect(Object.keys(JSON.parse(a.text).errors)).toEqual(['id']);
    }
    const bad = await raw('GET', '/v1/webhooks/%zz', TOKENS.backend);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toEqual({ message: 'The request path is not valid percent-encoding.' });
  });
});

describe('the OpenAPI document', () => {
  it('declares, on every operation, the statuses the gate, the parsers and the error handler answer', async () => {
    const doc = (await api.call('GET', '/openapi.json', undefined, null)).body;
    const ops = Object.entries(doc.paths as Record<string, Record<string, { responses: object }>>).flatMap(
      ([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })),
    );
    expect(ops.length).toBeGreaterThanOrEqual(10);
    for (const { path, method, op } of ops) {
      const responses = op.responses as Record<string, { content?: Record<string, { schema: object }> }>;
      const expected = ['400', '401', '414', '422', '500'];
      if (path.includes('{id}')) expected.push('404');
      if (method !== 'get') expected.push('403', '413', '415', '503');
      for (const status of expected) {
        const schema = responses[status]?.content?.['application/json']?.schema as
          | { required?: string[]; properties?: Record<string, unknown> }
          | undefined;
        expect(schema?.required, `${method} ${path} ${status}`).toEqual(['message']);
        expect(Object.keys(schema?.properties ?? {}).sort()).toEqual(['errors', 'message']);
      }
    }
  });
});
