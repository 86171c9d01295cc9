import { Writable } from 'node:stream';
import type { AttemptRecord, OperationalNotice, Webhook } from '@hookpost/contracts';
import { SecretBox } from '@hookpost/contracts';
import { readToEnd } from '@hookpost/deadletters';
import { provisionTopics, type SerialProducer } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import type { Receiver } from '@hookpost/sender';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { describe, expect } from 'vitest';
import { batchDeadLetter } from '../support/dead-letters.ts';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it } from '../support/fixtures.ts';
import { SCOPED_DOMAIN, startTestApi, suspendLikeDelivery, TOKENS } from './support.ts';

let env: TestEnv;
let api: Awaited<ReturnType<typeof startTestApi>>;
let receiver: Receiver;
let producer: SerialProducer;
let clock = Date.now();
const logLines: string[] = [];
const logger = createLogger({
  name: 'api',
  level: 'debug',
  destination: new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
});

// The fixtures close all of these; the file's helpers reach them through these names.
it.beforeAll(async ({ env: e, receiver: r, producer: p, owned }) => {
  [env, receiver, producer] = [e, r, p];
  await provisionTopics(env.admin, [env.catalog.topics.attempts]);
  api = await startTestApi(env, {
    now: () => clock,
    encryptionKeys: SecretBox.generateSpec(),
    logger,
  });
  // Stops whichever API is current: 'delivery history' restarts it over the same data dir.
  owned.own(null, async () => {
    await api.stop();
    api.cleanup();
  });
});

const create = (over: Record<string, unknown> = {}, token: string = TOKENS.backend) =>
  api.call(
    'POST',
    '/v1/webhooks',
    {
      url: `${receiver.url}/ok`,
      name: 'orders',
      events: ['activity.delivered', 'activity.hard_bounced'],
      domain_id: uniq('dom'),
      ...over,
    },
    token,
  );

describe('webhook CRUD', () => {
  it('creates a webhook with a whsec_ secret, returns it on GET, and lists it paginated', async () => {
    const domain = uniq('dom');
    const created = await create({
      domain_id: domain,
      auth: { type: 'basic', username: 'u', password: 'pa55-word' },
    });
    expect(created.status).toBe(201);
    const w = created.body.data;
    expect(w.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(w).toMatchObject({
      name: 'orders',
      enabled: true,
      status: 'active',
      format: 'json',
      domain_id: domain,
    });
    expect(w.auth).toEqual({ type: 'basic', username: 'u' });
    const got = await api.call('GET', `/v1/webhooks/${w.id}`);
    expect(got.status).toBe(200);
    expect(got.body.data.secret).toBe(w.secret);
    for (let i = 0; i < 2; i++) expect((await create({ domain_id: domain })).status).toBe(201);
    const page = await api.call('GET', `/v1/webhooks?domain_id=${domain}&limit=2&page=2`);
    expect(page.status).toBe(200);
    expect(page.body.data).toHaveLength(1);
    expect(page.body.meta).toMatchObject({
      current_page: 2,
      per_page: 2,
      total: 3,
      last_page: 2,
      from: 3,
      to: 3,
    });
    expect(page.body.links.prev).toContain('page=1');
    expect(page.body.links.next).toBeNull();
  });

  it('reads its own writes: a GET right after a PUT sees the change; DELETE then GET is 404', async () => {
    const w = (await create()).body.data;
    const put = await api.call('PUT', `/v1/webhooks/${w.id}`, {
      name: 'renamed',
      enabled: false,
      batch: { max_events: 10 },
    });
    expect(put.status).toBe(200);
    const got = await api.call('GET', `/v1/webhooks/${w.id}`);
    expect(got.body.data).toMatchObject({
      name: 'renamed',
      enabled: false,
      batch: { max_events: 10, window_seconds: 30 },
    });
    expect(got.body.data.url).toBe(w.url);
    expect(got.body.data.version).toBe(w.version + 1);
    expect((await api.call('DELETE', `/v1/webhooks/${w.id}`)).status).toBe(204);
    expect((await api.call('GET', `/v1/webhooks/${w.id}`)).status).toBe(404);
  });
});

describe('bad requests get a 4xx naming the field', () => {
  const expect422 = async (body: Record<string, unknown>, field: string) => {
    const res = await create(body);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.message).toBe('The given data was invalid.');
    expect(Object.keys(res.body.errors)).toContain(field);
    return res.body.errors[field] as string[];
  };

  it('refuses a non-http url, a private target, a 192-char name, an unknown event, an unknown field', async () => {
    await expect422({ url: 'ftp://example.com/x' }, 'url');
    expect((await expect422({ url: 'http://10.1.2.3/hook' }, 'url')).join()).toMatch(/private/);
    expect((await expect422({ name: 'x'.repeat(192) }, 'name')).join()).toMatch(/191/);
    expect((await create({ name: 'x'.repeat(191) })).status).toBe(201);
    expect((await expect422({ events: ['activity.nope'] }, 'events.0')).join()).toMatch(/event types/);
    expect((await expect422({ colour: 'blue' }, 'colour')).join()).toMatch(/not a known field/);
    await expect422({ domain_id: '' }, 'domain_id');
    await expect422({ batch: { max_events: 501 } }, 'batch.max_events');
    await expect422({ timeout_seconds: 31 }, 'timeout_seconds');
  });

  it('answers 400 to bad JSON and 413 to an oversized body', async () => {
    const bad = await api.call('POST', '/v1/webhooks', undefined, TOKENS.backend, { body: '{"url": ' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/not valid JSON/);
    const big = await api.call('POST', '/v1/webhooks', undefined, TOKENS.backend, {
      body: JSON.stringify({ name: 'x'.repeat(20_000) }),
    });
    expect(big.status).toBe(413);
  });
});

describe('who may do what', () => {
  it('401 without or with a bad token, 403 for a read-only token writing', async () => {
    expect((await api.call('GET', '/v1/webhooks?domain_id=d', undefined, null)).status).toBe(401);
    expect((await api.call('GET', '/v1/webhooks?domain_id=d', undefined, 'nope')).status).toBe(401);
    const w = (await create()).body.data;
    expect((await api.call('GET', `/v1/webhooks/${w.id}`, undefined, TOKENS.reader)).status).toBe(200);
    expect((await create({}, TOKENS.reader)).status).toBe(403);
    expect((await api.call('PUT', `/v1/webhooks/${w.id}`, { name: 'x' }, TOKENS.reader)).status).toBe(403);
    expect((await api.call('DELETE', `/v1/webhooks/${w.id}`, undefined, TOKENS.reader)).status).toBe(403);
  });

  it('a token never sees a webhook outside its domains: 404 exactly like an unknown id', async () => {
    const other = (await create()).body.data;
    const mine = (await create({ domain_id: SCOPED_DOMAIN }, TOKENS.scoped)).body.data;
    expect(mine.domain_id).toBe(SCOPED_DOMAIN);
    const hidden = await api.call('GET', `/v1/webhooks/${other.id}`, undefined, TOKENS.scoped);
    const unknown = await api.call('GET', '/v1/webhooks/doesnotexist', undefined, TOKENS.scoped);
    expect(hidden.status).toBe(404);
    expect(hidden.body).toEqual(unknown.body);
    expect((await api.call('PUT', `/v1/webhooks/${other.id}`, { name: 'x' }, TOKENS.scoped)).status).toBe(
      404,
    );
    expect((await api.call('DELETE', `/v1/webhooks/${other.id}`, undefined, TOKENS.scoped)).status).toBe(404);
    expect((await api.call('POST', `/v1/webhooks/${other.id}/test`, {}, TOKENS.scoped)).status).toBe(404);
    const list = await api.call('GET', `/v1/webhooks?domain_id=${other.domain_id}`, undefined, TOKENS.scoped);
    expect(list.body.data).toEqual([]);
    expect((await create({ domain_id: 'dom-elsewhere' }, TOKENS.scoped)).status).toBe(422);
  });
});

describe('test sends and secret rotation', () => {
  const signedWith = (secret: string, req: Receiver['requests'][number]) => {
    const id = String(req.headers['webhook-id']);
    const ts = Number(req.headers['webhook-timestamp']);
    const expected = new StandardWebhook(secret).sign(id, new Date(ts * 1000), req.body);
    return String(req.headers['webhook-signature']).split(' ').includes(expected);
  };

  it('sends a signed MailerSend-shaped sample and reports status, latency and an excerpt', async () => {
    const w = (await create({ url: `${receiver.url}/ok` })).body.data;
    const res = await api.call('POST', `/v1/webhooks/${w.id}/test`, { event_type: 'activity.hard_bounced' });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      delivered: true,
      status: 200,
      event_type: 'activity.hard_bounced',
    });
    expect(res.body.data.latency_ms).toBeGreaterThanOrEqual(0);
    const req = receiver.requests.find((r) => r.headers['webhook-id'] === res.body.data.batch_id)!;
    const [payload] = JSON.parse(req.body);
    expect(payload).toMatchObject({
      type: 'activity.hard_bounced',
      webhook_id: w.id,
      domain_id: w.domain_id,
    });
    expect(payload.data.morph.object).toBe('recipient_bounce');
    expect(signedWith(w.secret, req)).toBe(true);
    const failing = (await create({ url: `${receiver.url}/echo/500` })).body.data;
    const failed = await api.call('POST', `/v1/webhooks/${failing.id}/test`, {});
    expect(failed.body.data).toMatchObject({ delivered: false, status: 500 });
    expect(failed.body.data.response_excerpt).toContain('POST');
    expect(Buffer.byteLength(failed.body.data.response_excerpt)).toBeLessThanOrEqual(1024);
  });

  it('signs with both secrets during the grace period and only the new one after it', async () => {
    const w = (await create()).body.data;
    const rotated = await api.call('POST', `/v1/webhooks/${w.id}/secret/rotate`);
    expect(rotated.status).toBe(200);
    const fresh = rotated.body.data.secret;
    expect(fresh).not.toBe(w.secret);
    expect(rotated.body.data.secrets).toHaveLength(2);
    const during = await api.call('POST', `/v1/webhooks/${w.id}/test`, {});
    const r1 = receiver.requests.find((r) => r.headers['webhook-id'] === during.body.data.batch_id)!;
    expect(signedWith(w.secret, r1) && signedWith(fresh, r1)).toBe(true);
    const saved = clock;
    clock += 24 * 60 * 60 * 1000 + 1;
    try {
      expect((await api.call('GET', `/v1/webhooks/${w.id}`)).body.data.secrets).toHaveLength(1);
      const after = await api.call('POST', `/v1/webhooks/${w.id}/test`, {});
      const r2 = receiver.requests.find((r) => r.headers['webhook-id'] === after.body.data.batch_id)!;
      expect(signedWith(fresh, r2)).toBe(true);
      expect(signedWith(w.secret, r2)).toBe(false);
    } finally {
      clock = saved;
    }
  });
});

describe('resume and resend', () => {
  const suspend = (id: string): Promise<Webhook> => suspendLikeDelivery(env, api, id);

  it('resumes a suspended webhook and tells the owner on the operational topic', async ({ opened }) => {
    const w = (await create()).body.data;
    const suspended = await suspend(w.id);
    expect((await api.call('GET', `/v1/webhooks/${w.id}`)).body.data.status_changed_at).toBe(
      new Date(suspended.status_changed_at!).toISOString(),
    );
    const res = await api.call('POST', `/v1/webhooks/${w.id}/resume`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      status: 'active',
      status_reason: null,
      version: suspended.version + 1,
    });
    // Each status change is dated: the suspension's time, then the resume's (later).
    expect(res.body.data.status_changed_at).toBe(res.body.data.updated_at);
    expect(res.body.data.status_changed_at).not.toBe(new Date(suspended.status_changed_at!).toISOString());
    const notices: OperationalNotice[] = [];
    const consumer = opened.own(env.kafka.consumer({ groupId: uniq('ops') }), (c) => c.disconnect());
    await consumer.connect();
    await consumer.subscribe({ topic: env.catalog.topics.operational.name, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => void notices.push(JSON.parse(String(message.value))),
    });
    await waitFor(() => notices.some((n) => n.webhook_id === w.id && n.type === 'webhook.resumed'));
    await consumer.disconnect();
    expect((await api.call('POST', `/v1/webhooks/${w.id}/resume`)).body.data.version).toBe(
      suspended.version + 1,
    );
  });

  it('resends the DLQ range once: a second resend replays nothing; a suspended webhook answers 409', async () => {
    const w = (await create()).body.data;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 60_000;
    const letters = [
      batchDeadLetter(w.id, t0),
      batchDeadLetter(w.id, t0 + 1_000),
      batchDeadLetter(w.id, t0 + 30_000),
    ];
    await producer.send(
      env.catalog.topics.dlq.name,
      letters.map((l) => ({ key: w.id, value: JSON.stringify(l) })),
    );
    const range = { date_from: t0 / 1000, date_to: (t0 + 2_000) / 1000 };
    const dry = await api.call('POST', `/v1/webhooks/${w.id}/resend`, { ...range, dry_run: true });
    expect(dry.body.data).toMatchObject({ dry_run: true, matched: 2, replayed: 2 });
    const first = await api.call('POST', `/v1/webhooks/${w.id}/resend`, range);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ matched: 2, replayed: 2, events: 2 });
    const second = await api.call('POST', `/v1/webhooks/${w.id}/resend`, range);
    expect(second.body.data).toMatchObject({ matched: 2, replayed: 0, skipped: { already_replayed: 2 } });

    // Read to the topic's end, not until two arrive: a third (a duplicate, or the dry run's) would be there too.
    const seen: string[] = [];
    await readToEnd({
      kafka: env.kafka,
      topic: env.catalog.topics.batches.name,
      groupPrefix: env.prefix,
      onMessage: (m) => void seen.push(JSON.parse(String(m.value)).batch_id),
    });
    expect(seen.sort()).toEqual([letters[0]!.batch!.batch_id, letters[1]!.batch!.batch_id].sort());

    await suspend(w.id);
    // A dry run is allowed while suspended and names the webhook a real resend would resume.
    const dryWhileSuspended = await api.call('POST', `/v1/webhooks/${w.id}/resend`, { dry_run: true });
    expect(dryWhileSuspended.status).toBe(200);
    expect(dryWhileSuspended.body.data).toMatchObject({ dry_run: true, replayed: 1, resumed: [w.id] });
    expect((await api.call('GET', `/v1/webhooks/${w.id}`)).body.data.status).toBe('suspended');
    const refused = await api.call('POST', `/v1/webhooks/${w.id}/resend`, {});
    expect(refused.status).toBe(409);
    const resumed = await api.call('POST', `/v1/webhooks/${w.id}/resend`, { resume: true });
    expect(resumed.body.data).toMatchObject({ replayed: 1, resumed: [w.id] });
    expect((await api.call('GET', `/v1/webhooks/${w.id}`)).body.data.status).toBe('active');
  });

  it('resends 10 000 dead letters of one webhook once (past the 100-letter chunk), a second resend none', async () => {
    const w = (await create()).body.data;
    const n = 10_000;
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    const letters = Array.from({ length: n }, (_, k) => batchDeadLetter(w.id, t0 + k));
    for (let j = 0; j < n; j += 1_000)
      await producer.send(
        env.catalog.topics.dlq.name,
        letters.slice(j, j + 1_000).map((l) => ({ value: JSON.stringify(l) })),
      );
    const first = await api.call('POST', `/v1/webhooks/${w.id}/resend`, {});
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ matched: n, replayed: n, events: n });
    const second = await api.call('POST', `/v1/webhooks/${w.id}/resend`, {});
    expect(second.status).toBe(200);
    expect(second.body.data).toMatchObject({ matched: n, replayed: 0, skipped: { already_replayed: n } });
    const seen = new Map<string, number>();
    await readToEnd({
      kafka: env.kafka,
      topic: env.catalog.topics.batches.name,
      groupPrefix: env.prefix,
      timeoutMs: 120_000,
      onMessage: (m) => {
        const id = JSON.parse(String(m.value)).batch_id as string;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      },
    });
    for (const l of letters) expect(seen.get(l.batch!.batch_id)).toBe(1);
  }, 180_000);
});

describe('delivery history', () => {
  const attempt = (webhookId: string, at: number, status: number | null): AttemptRecord => ({
    webhook_id: webhookId,
    batch_id: uniq('b'),
    attempt: 1,
    tier: 'main',
    at,
    status,
    latency_ms: 12,
    outcome: status === 200 ? 'delivered' : 'retry',
    error: status === null ? 'ECONNRESET' : null,
    response_excerpt: 'ok',
    event_count: 3,
  });
  const produce = (records: AttemptRecord[]) =>
    producer.send(
      env.catalog.topics.attempts.name,
      records.map((r) => ({ key: r.webhook_id, value: JSON.stringify(r) })),
    );

  it('lists 7 days of attempts with filters, and keeps them across an API restart', async () => {
    const w = (await create()).body.data;
    const now = Date.now();
    // Attempt records the schema refuses are skipped (counted, logged), never stored, and the feed goes on.
    const bad = { ...attempt(w.id, now - 500, 200), outcome: 'lost' };
    await producer.send(
      env.catalog.topics.attempts.name,
      [JSON.stringify(bad), JSON.stringify({ ...bad, outcome: 'delivered', attempt: 0 }), '{', ''].map(
        (value) => ({ key: w.id, value }),
      ),
    );
    await produce([
      attempt(w.id, now - 3_000, 200),
      attempt(w.id, now - 2_000, 503),
      attempt(w.id, now - 1_000, null),
      attempt(w.id, now - 8 * 24 * 60 * 60 * 1000, 200),
    ]);
    const list = () => api.call('GET', `/v1/webhooks/${w.id}/attempts`);
    await waitFor(async () => (await list()).body.meta?.total === 3, { what: 'three attempts' });
    const five = await api.call('GET', `/v1/webhooks/${w.id}/attempts?status=5xx`);
    expect(five.body.data.map((a: { status: number }) => a.status)).toEqual([503]);
    const errors = await api.call('GET', `/v1/webhooks/${w.id}/attempts?status=error`);
    expect(errors.body.data[0]).toMatchObject({ status: null, error: 'ECONNRESET', status_class: 'error' });
    const ranged = await api.call(
      'GET',
      `/v1/webhooks/${w.id}/attempts?date_from=${Math.floor((now - 2_500) / 1000)}&limit=1`,
    );
    expect(ranged.body.meta.per_page).toBe(1);

    await api.stop();
    await produce([attempt(w.id, now, 200)]);
    const restarted = await startTestApi(env, {
      dataDir: api.dataDir,
      encryptionKeys: api.encryptionKeys,
      now: () => clock,
      logger,
    });
    api = restarted;
    await waitFor(async () => (await api.call('GET', `/v1/webhooks/${w.id}/attempts`)).body.meta?.total >= 4);
    const all = await api.call('GET', `/v1/webhooks/${w.id}/attempts`);
    expect(all.body.meta.total).toBe(4);
    expect(new Set(all.body.data.map((a: { id: string }) => a.id)).size).toBe(4);
  });
});

describe('OpenAPI and logs', () => {
  const EXPECTED = [
    'get /v1/webhooks',
    'post /v1/webhooks',
    'get /v1/webhooks/{id}',
    'put /v1/webhooks/{id}',
    'delete /v1/webhooks/{id}',
    'post /v1/webhooks/{id}/secret/rotate',
    'post /v1/webhooks/{id}/test',
    'post /v1/webhooks/{id}/resume',
    'post /v1/webhooks/{id}/resend',
    'post /v1/webhooks/{id}/replays',
    'get /v1/webhooks/{id}/replays/{job}',
    'get /v1/webhooks/{id}/attempts',
    'get /v1/webhooks/{id}/stats',
    'get /v1/webhooks/{id}/dead-letters',
    'get /v1/overview',
  ];

  it('serves an OpenAPI 3 document whose operations are exactly the routes, with their schemas', async () => {
    const res = await api.call('GET', '/openapi.json', undefined, null);
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    const ops = Object.entries(res.body.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, item]) => Object.keys(item).map((method) => `${method} ${path}`),
    );
    expect(ops.sort()).toEqual([...EXPECTED].sort());
    // Every documented operation is served (a path nobody serves answers "No such route.").
    for (const op of ops) {
      const [method, path] = op.split(' ') as [string, string];
      const r = await api.call(
        method.toUpperCase(),
        path.replace('{id}', 'unknown-id').concat('?domain_id=x'),
        method === 'get' || method === 'delete' ? undefined : {},
      );
      expect(r.body?.message, op).not.toBe('No such route.');
    }
    expect((await api.call('GET', '/v1/nothing-here')).body.message).toBe('No such route.');
    const create = res.body.paths['/v1/webhooks'].post.requestBody.content['application/json'].schema;
    expect(create.additionalProperties).toBe(false);
    expect(create.properties.name.maxLength).toBe(191);
    expect(create.required).toEqual(expect.arrayContaining(['url', 'name', 'events', 'domain_id']));
  });

  it('never logs tokens, signing secrets or auth passwords', async () => {
    const w = (await create({ auth: { type: 'basic', username: 'u', password: 'sup3r-secret-pw' } })).body
      .data;
    await api.call('GET', `/v1/webhooks/${w.id}`);
    const text = logLines.join('');
    expect(text).toContain('webhook created');
    for (const secret of [...Object.values(TOKENS), w.secret, 'sup3r-secret-pw'])
      expect(text).not.toContain(secret);
  });
});
