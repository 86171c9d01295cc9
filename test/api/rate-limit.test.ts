/**
 * The webhook `rate_limit` at the API: stored, returned, changed and removed; `per_second` at, just
 * past and far past both bounds, each mistake a 422 naming `rate_limit.per_second` (or `rate_limit`);
 * arbitrary JSON as a rate limit is stored or refused with a field under `rate_limit`, never a 5xx.
 */
import { LIMITS } from '@hookpost/contracts';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { apiTest, type startTestApi } from './support.ts';

const it = apiTest();
let api: Awaited<ReturnType<typeof startTestApi>>;
let url: string;

// The fixtures stop the API and close the receiver after the file's last test.
it.beforeAll(async ({ api: a, receiver }) => {
  api = a;
  url = `${receiver.url}/ok`;
});

const create = (rate_limit: unknown) =>
  api.call('POST', '/v1/webhooks', {
    url,
    name: 'limited',
    events: ['activity.opened'],
    domain_id: 'dom-rate',
    rate_limit,
  });

describe('webhook rate limit at the API', () => {
  it('stores, returns, updates and removes a rate limit; absent means none', async () => {
    const created = await create({ per_second: 2.5 });
    expect(created.status).toBe(201);
    expect(created.body.data.rate_limit).toEqual({ per_second: 2.5 });
    const id = created.body.data.id;
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.rate_limit).toEqual({ per_second: 2.5 });
    const changed = await api.call('PUT', `/v1/webhooks/${id}`, { rate_limit: { per_second: 40 } });
    expect(changed.body.data.rate_limit).toEqual({ per_second: 40 });
    // An update without the field keeps it.
    expect((await api.call('PUT', `/v1/webhooks/${id}`, { name: 'renamed' })).body.data.rate_limit).toEqual({
      per_second: 40,
    });
    expect(
      (await api.call('PUT', `/v1/webhooks/${id}`, { rate_limit: null })).body.data.rate_limit,
    ).toBeNull();
    const none = await api.call('POST', '/v1/webhooks', {
      url,
      name: 'free',
      events: ['activity.opened'],
      domain_id: 'dom-rate',
    });
    expect(none.body.data.rate_limit).toBeNull();
  });

  it('per_second at, just past and far past its bounds', async () => {
    const min = LIMITS.minRatePerSecond;
    const max = LIMITS.maxRatePerSecond;
    for (const ok of [min, 0.5, 1, max - 0.001, max])
      expect((await create({ per_second: ok })).status).toBe(201);
    for (const bad of [0, min - 0.001, -1, -1e9, max + 0.001, max + 1, 1e12, 1e308]) {
      const res = await create({ per_second: bad });
      expect(res.status, String(bad)).toBe(422);
      expect(Object.keys(res.body.errors), String(bad)).toEqual(['rate_limit.per_second']);
    }
    for (const bad of ['5', true, null, [], {}]) {
      const res = await create({ per_second: bad });
      expect(res.status, JSON.stringify(bad)).toBe(422);
      expect(Object.keys(res.body.errors).join(), JSON.stringify(bad)).toMatch(/^rate_limit/);
    }
    for (const bad of [{}, { per_second: 1, burst: 3 }, 5, 'fast', []]) {
      const res = await create(bad);
      expect(res.status, JSON.stringify(bad)).toBe(422);
      expect(Object.keys(res.body.errors).join(), JSON.stringify(bad)).toMatch(/^rate_limit/);
    }
  });

  it('arbitrary JSON as a rate limit is stored as sent or refused under rate_limit, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.record({ per_second: fc.jsonValue({ maxDepth: 1 }) })),
        async (rate) => {
          const res = await create(rate);
          const said = `${JSON.stringify(rate)} -> ${res.status} ${JSON.stringify(res.body)}`;
          if (res.status === 201) {
            expect(res.body.data.rate_limit, said).toEqual(
              rate === null ? null : JSON.parse(JSON.stringify(rate)),
            );
            return;
          }
          expect(res.status, said).toBe(422);
          expect(Object.keys(res.body.errors).length, said).toBeGreaterThan(0);
          for (const field of Object.keys(res.body.errors)) expect(field, said).toMatch(/^rate_limit/);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await api.call('GET', '/openapi.json')).body;
    const text = JSON.stringify(doc);
    expect(text).toContain('rate_limit');
    expect(text).toContain('per_second');
  });
});
