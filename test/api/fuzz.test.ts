import { EVENT_TYPES } from '@hookpost/events';
import type { Receiver } from '@hookpost/sender';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { apiTest, type startTestApi } from './support.ts';

const it = apiTest();
let api: Awaited<ReturnType<typeof startTestApi>>;
let receiver: Receiver;
let webhookId: string;

it.beforeAll(async ({ api: a, receiver: r }) => {
  [api, receiver] = [a, r];
  const created = await api.call('POST', '/v1/webhooks', {
    url: `${receiver.url}/ok`,
    name: 'fuzz',
    events: ['activity.sent'],
    domain_id: 'dom-fuzz',
  });
  webhookId = created.body.data.id;
});

/** Values near the real fields (so some requests pass validation and reach the handlers) and noise. */
const fieldValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(
    ...EVENT_TYPES,
    'json',
    'jsonl',
    'basic',
    'token',
    'http://127.0.0.1:1/x',
    'https://example.com/h',
  ),
  fc.constant(`${'http://127.0.0.1'}/ok`),
  fc.array(fc.constantFrom(...EVENT_TYPES, 'activity.nope'), { maxLength: 4 }),
  fc.record(
    {
      type: fc.constantFrom('basic', 'token', 'x'),
      username: fc.string(),
      password: fc.string(),
      param: fc.string(),
      value: fc.string(),
    },
    { requiredKeys: [] },
  ),
  fc.record(
    { max_events: fc.integer({ min: -5, max: 600 }), window_seconds: fc.oneof(fc.integer(), fc.double()) },
    { requiredKeys: [] },
  ),
  fc.integer({ min: -10, max: 100 }),
  fc.string({ maxLength: 300 }),
);
const keys = fc.constantFrom(
  'url',
  'name',
  'events',
  'enabled',
  'domain_id',
  'account_id',
  'format',
  'batch',
  'timeout_seconds',
  'auth',
  'event_type',
  '__proto__',
  'constructor',
  'status',
  'id',
  'secret',
);
const body = fc.oneof(
  fc.dictionary(keys, fieldValue, { maxKeys: 8 }),
  fc.jsonValue({ maxDepth: 3 }),
  fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }),
);

describe('random JSON at the write routes', () => {
  it('never gets a 5xx', async () => {
    const routes = () =>
      [
        ['POST', '/v1/webhooks'],
        ['PUT', `/v1/webhooks/${webhookId}`],
        ['POST', `/v1/webhooks/${webhookId}/test`],
        ['POST', `/v1/webhooks/${webhookId}/secret/rotate`],
        ['POST', `/v1/webhooks/${webhookId}/resume`],
      ] as const;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(0, 1, 1, 2, 3, 4),
        body,
        fc.boolean(),
        async (route, value, rawText) => {
          const [method, path] = routes()[route]!;
          const text = rawText && typeof value === 'string' ? value : JSON.stringify(value);
          const res = await api.call(method, path, undefined, undefined, { body: text });
          expect(res.status, `${method} ${path} ${text} -> ${JSON.stringify(res.body)}`).toBeLessThan(500);
          // Every answer is a JSON document: the resource, or a message saying what was wrong.
          expect(res.status < 300 ? res.body.data : res.body.message).toBeDefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('never gets a 5xx from resend either (fewer runs: a valid body scans the whole DLQ)', async () => {
    const resendBody = fc.oneof(
      body,
      fc.record(
        {
          date_from: fc.oneof(fc.integer(), fc.string(), fc.constant(null)),
          date_to: fc.oneof(fc.integer(), fc.double(), fc.string()),
          reasons: fc.oneof(
            fc.array(fc.constantFrom('exhausted', 'gone', 'suspended', 'nope', 1)),
            fc.string(),
          ),
          dry_run: fc.oneof(fc.boolean(), fc.string()),
          resume: fc.jsonValue(),
          force: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(resendBody, fc.boolean(), async (value, rawText) => {
        const text = rawText && typeof value === 'string' ? value : JSON.stringify(value);
        const res = await api.call('POST', `/v1/webhooks/${webhookId}/resend`, undefined, undefined, {
          body: text,
        });
        expect(res.status, `resend ${text} -> ${JSON.stringify(res.body)}`).toBeLessThan(500);
      }),
      { numRuns: 40 },
    );
  });
});
