import type { Webhook } from '@hookpost/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HttpSender, type HttpSenderOptions, parseRetryAfter, type SendInput } from './http.ts';
import { type Receiver, startReceiver } from './receiver.ts';
import { generateSecret } from './signing.ts';
import type { Resolver } from './ssrf.ts';

const secret = generateSecret();
const NOW = 1_750_000_000_000;

let receiver: Receiver;
const senders: HttpSender[] = [];

function sender(options: HttpSenderOptions = {}): HttpSender {
  const s = new HttpSender({ allow: { loopback: true }, now: () => NOW, ...options });
  senders.push(s);
  return s;
}

function webhook(path: string, extra: Partial<Webhook> = {}): SendInput['webhook'] {
  return {
    url: `${receiver.url}${path}`,
    secrets: [{ value: secret, created_at: 1, expires_at: null }],
    timeout_ms: 1000,
    auth: null,
    ...extra,
  };
}

const batch: SendInput['batch'] = {
  batch_id: 'bat_01',
  format: 'json',
  body: JSON.stringify([{ type: 'activity.sent', subject: 'Grüße 🚀' }, { type: 'activity.delivered' }]),
};

beforeEach(async () => {
  receiver = await startReceiver({ secrets: [secret] });
});

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close()));
  await receiver.close();
});

describe('HttpSender', () => {
  it('delivers a signed batch that the receiver verifies', async () => {
    const outcome = await sender().send({ webhook: webhook('/ok'), batch, attempt: 1 });
    expect(outcome).toMatchObject({ kind: 'delivered', status: 200, error: null, responseExcerpt: 'ok' });
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(0);
    const [req] = receiver.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/ok', verified: true, events: 2, body: batch.body });
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['user-agent']).toMatch(
      /^hookpost\/\d+\.\d+\.\d+ \(\+https:\/\/github\.com\/hookpost\)$/,
    );
    expect(req?.headers['webhook-id']).toBe('bat_01');
    expect(req?.headers['webhook-timestamp']).toBe(String(NOW / 1000));
  });

  it('sends JSON Lines as application/x-ndjson', async () => {
    const jsonl = { batch_id: 'bat_02', format: 'jsonl' as const, body: '{"a":1}\n{"a":2}\n{"a":3}\n' };
    expect((await sender().send({ webhook: webhook('/ok'), batch: jsonl, attempt: 1 })).kind).toBe(
      'delivered',
    );
    expect(receiver.requests[0]).toMatchObject({ events: 3, verified: true });
    expect(receiver.requests[0]?.headers['content-type']).toBe('application/x-ndjson');
  });

  it('keeps webhook-id across attempts and stamps each attempt with its own time', async () => {
    const s = sender();
    await s.send({ webhook: webhook('/fail/1'), batch, attempt: 1, now: NOW });
    await s.send({ webhook: webhook('/fail/1'), batch, attempt: 2, now: NOW + 90_000 });
    const [first, second] = receiver.requests;
    expect(second?.headers['webhook-id']).toBe(first?.headers['webhook-id']);
    expect(Number(second?.headers['webhook-timestamp']) - Number(first?.headers['webhook-timestamp'])).toBe(
      90,
    );
  });

  it('does not follow a redirect: a 3xx is a retryable failure', async () => {
    const outcome = await sender().send({ webhook: webhook('/status/302'), batch, attempt: 1 });
    expect(outcome).toMatchObject({ kind: 'retry', status: 302, error: 'HTTP 302: redirect not followed' });
    expect(receiver.requests.map((r) => r.path)).toEqual(['/status/302']);
  });

  it('reports 410 as gone so the webhook is suspended at once', async () => {
    const outcome = await sender().send({ webhook: webhook('/410'), batch, attempt: 1 });
    expect(outcome).toMatchObject({ kind: 'gone', status: 410 });
  });

  it('retries other statuses with the status and a response excerpt', async () => {
    const s = sender();
    expect(await s.send({ webhook: webhook('/fail/1/500'), batch, attempt: 1 })).toMatchObject({
      kind: 'retry',
      status: 500,
      error: 'HTTP 500',
      responseExcerpt: 'failure 1',
      retryAfterMs: null,
    });
    expect((await s.send({ webhook: webhook('/fail/1/500'), batch, attempt: 2 })).kind).toBe('delivered');
    expect(await s.send({ webhook: webhook('/status/404'), batch, attempt: 1 })).toMatchObject({
      kind: 'retry',
      status: 404,
    });
  });

  it('honours Retry-After on 429 and 503, capped by maxRetryAfterMs', async () => {
    const s = sender();
    expect(await s.send({ webhook: webhook('/429/7'), batch, attempt: 1 })).toMatchObject({
      kind: 'retry',
      status: 429,
      retryAfterMs: 7000,
    });
    expect(await s.send({ webhook: webhook('/503/2'), batch, attempt: 1 })).toMatchObject({
      status: 503,
      retryAfterMs: 2000,
    });
    expect((await s.send({ webhook: webhook('/429/86400'), batch, attempt: 1 })).retryAfterMs).toBe(
      3_600_000,
    );
    const capped = sender({ maxRetryAfterMs: 5000 });
    expect((await capped.send({ webhook: webhook('/429/60'), batch, attempt: 1 })).retryAfterMs).toBe(5000);
  });

  it('gives up on an endpoint that hangs within the webhook timeout', async () => {
    const outcome = await sender().send({
      webhook: webhook('/hang', { timeout_ms: 1000 }),
      batch,
      attempt: 1,
    });
    expect(outcome).toMatchObject({ kind: 'retry', status: null, error: 'timeout after 1000 ms' });
    expect(outcome.latencyMs).toBeGreaterThanOrEqual(950);
    expect(outcome.latencyMs).toBeLessThan(3000);
  });

  it('bounds a slow response by the timeout but waits for one within it', async () => {
    const s = sender();
    expect(
      (await s.send({ webhook: webhook('/slow/100', { timeout_ms: 1000 }), batch, attempt: 1 })).kind,
    ).toBe('delivered');
    expect(
      await s.send({ webhook: webhook('/slow/2000', { timeout_ms: 1000 }), batch, attempt: 1 }),
    ).toMatchObject({
      kind: 'retry',
      error: 'timeout after 1000 ms',
    });
  });

  it('retries a connection reset, naming it', async () => {
    const outcome = await sender().send({ webhook: webhook('/reset'), batch, attempt: 1 });
    expect(outcome).toMatchObject({ kind: 'retry', status: null });
    expect(outcome.error).toMatch(/ECONNRESET/);
  });

  it('retries a refused connection', async () => {
    const outcome = await sender().send({
      webhook: webhook('/ok', { url: 'http://127.0.0.1:1/ok' }),
      batch,
      attempt: 1,
    });
    expect(outcome).toMatchObject({ kind: 'retry', status: null });
    expect(outcome.error).toMatch(/ECONNREFUSED/);
  });

  it('sends basic auth as a header and a token as a query parameter', async () => {
    const s = sender();
    await s.send({
      webhook: webhook('/ok', { auth: { type: 'basic', username: 'hook', password: 'pä55 word' } }),
      batch,
      attempt: 1,
    });
    await s.send({
      webhook: webhook('/ok?keep=1', { auth: { type: 'token', param: 'token', value: 't0k/en+=' } }),
      batch,
      attempt: 1,
    });
    const [basic, token] = receiver.requests;
    expect(basic?.headers.authorization).toBe(`Basic ${Buffer.from('hook:pä55 word').toString('base64')}`);
    expect(token?.query).toEqual({ keep: '1', token: 't0k/en+=' });
    expect(token?.headers.authorization).toBeUndefined();
  });

  it('never returns a secret, even when the receiver echoes the request', async () => {
    const token = 'tok-SECRET-123 /+';
    const outcome = await sender().send({
      webhook: webhook('/echo/400', { auth: { type: 'token', param: 't', value: token } }),
      batch,
      attempt: 1,
    });
    expect(outcome).toMatchObject({ kind: 'retry', status: 400 });
    expect(outcome.responseExcerpt).toContain('[redacted]');
    const text = JSON.stringify(outcome);
    for (const leaked of [token, 'tok-SECRET-123', encodeURIComponent(token), secret])
      expect(text).not.toContain(leaked);
  });

  it('keeps only a bounded excerpt of the body and still reuses the connection', async () => {
    const s = sender();
    const outcome = await s.send({ webhook: webhook('/big/20000'), batch, attempt: 1 });
    expect(outcome.kind).toBe('delivered');
    expect(outcome.responseExcerpt).toHaveLength(1024);
    await s.send({ webhook: webhook('/ok'), batch, attempt: 1 });
    expect(receiver.requests[1]?.remotePort).toBe(receiver.requests[0]?.remotePort);
  });

  it('reuses one keep-alive connection for consecutive sends to an origin', async () => {
    const s = sender();
    for (const path of ['/ok', '/fail/1', '/429/1', '/ok'])
      await s.send({ webhook: webhook(path), batch, attempt: 1 });
    const ports = receiver.requests.map((r) => r.remotePort);
    expect(ports[0]).toBeGreaterThan(0);
    expect(new Set(ports)).toEqual(new Set([ports[0]]));
  });

  it('opens at most connectionsPerOrigin connections however many sends are in flight', async () => {
    const s = sender({ connectionsPerOrigin: 2 });
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () => s.send({ webhook: webhook('/slow/50'), batch, attempt: 1 })),
    );
    expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
    expect(new Set(receiver.requests.map((r) => r.remotePort)).size).toBe(2);
  });

  it('refuses a private literal address without connecting', async () => {
    const outcome = await sender().send({
      webhook: webhook('/ok', { url: 'http://10.0.0.5/hook' }),
      batch,
      attempt: 1,
    });
    expect(outcome).toMatchObject({
      kind: 'refused',
      status: null,
      error: 'host 10.0.0.5 is a private address (10.0.0.0/8)',
    });
  });

  it('refuses a hostname that resolves to a private address, and uses the guarded resolution', async () => {
    const resolve: Resolver = async (host) => [
      { address: host === 'evil.test' ? '10.0.0.5' : '127.0.0.1', family: 4 },
    ];
    const s = sender({ resolve });
    const refused = await s.send({
      webhook: webhook('/ok', { url: `http://evil.test:${receiver.port}/ok` }),
      batch,
      attempt: 1,
    });
    expect(refused).toMatchObject({
      kind: 'refused',
      error: 'refused evil.test: 10.0.0.5 is a private address (10.0.0.0/8)',
    });
    const delivered = await s.send({
      webhook: webhook('/ok', { url: `http://receiver.test:${receiver.port}/ok` }),
      batch,
      attempt: 1,
    });
    expect(delivered.kind).toBe('delivered');
    expect(receiver.requests.map((r) => r.headers.host)).toEqual([`receiver.test:${receiver.port}`]);
  });

  it('refuses loopback (literal and localhost) unless configuration allows it', async () => {
    const strict = sender({ allow: {} });
    for (const url of [`${receiver.url}/ok`, `http://localhost:${receiver.port}/ok`]) {
      const outcome = await strict.send({ webhook: webhook('/ok', { url }), batch, attempt: 1 });
      expect(outcome.kind).toBe('refused');
      expect(outcome.error).toMatch(/loopback/);
    }
    expect(receiver.requests).toHaveLength(0);
    const allowed = await sender().send({
      webhook: webhook('/ok', { url: `http://localhost:${receiver.port}/ok` }),
      batch,
      attempt: 1,
    });
    expect(allowed.kind).toBe('delivered');
  });

  it('refuses to send without a usable signing secret', async () => {
    const expired = [{ value: secret, created_at: 1, expires_at: NOW - 1 }];
    const outcome = await sender().send({ webhook: webhook('/ok', { secrets: expired }), batch, attempt: 1 });
    expect(outcome).toMatchObject({ kind: 'refused', error: 'no active signing secret' });
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP dates, relative to now', () => {
    const now = Date.parse('Wed, 21 Oct 2015 07:28:00 GMT');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:29:30 GMT', now)).toBe(90_000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(['30', '60'], now)).toBe(30_000);
  });

  it('ignores what it cannot read', () => {
    for (const value of [undefined, '', 'soon', '-5', '1.5', 'Wed, 99 Foo 2015 07:29:30 GMT'])
      expect(parseRetryAfter(value, 0)).toBeNull();
  });
});
