/**
 * The webhook `filter` at the API: stored and returned as sent, changed and removed by an update, and
 * every mistake a 422 naming its exact place; each limit at, just past and far past it (far past within
 * the test API's 16 KiB body limit; the language's own tests go to a million). Arbitrary JSON as a
 * filter is accepted or refused with a field under `filter`, never a 5xx.
 */
import { FILTER_LIMITS } from '@hookpost/contracts';
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

const create = (filter: unknown) =>
  api.call('POST', '/v1/webhooks', {
    url,
    name: 'filtered',
    events: ['activity.opened'],
    domain_id: 'dom-filters',
    filter,
  });

/** The 422's field errors, or the status when it is not a 422. */
async function refusal(filter: unknown): Promise<Record<string, string[]> | number> {
  const res = await create(filter);
  return res.status === 422 ? res.body.errors : res.status;
}

const nested = (levels: number) => {
  let f: unknown = 1;
  for (let i = 0; i < levels; i += 1) f = { a: f };
  return f;
};
const wide = (nodes: number) => Object.fromEntries(Array.from({ length: nodes - 1 }, (_, i) => [`k${i}`, i]));
const strings = (n: number) => Array.from({ length: n }, (_, i) => `t${i}`);

describe('webhook filters at the API', () => {
  it('stores, returns, updates and removes a filter', async () => {
    const filter = {
      $or: [
        { data: { email: { tags: 'invoices' } } },
        { data: { template_id: { $in: ['tpl-1', 'tpl-2'] } } },
      ],
    };
    const created = await create(filter);
    expect(created.status).toBe(201);
    expect(created.body.data.filter).toEqual(filter);
    const id = created.body.data.id;
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.filter).toEqual(filter);

    const other = { data: { email: { recipient: { email: { $endsWith: '@example.com' } } } } };
    const renamed = await api.call('PUT', `/v1/webhooks/${id}`, { name: 'renamed' });
    expect(renamed.body.data.filter).toEqual(filter);
    const updated = await api.call('PUT', `/v1/webhooks/${id}`, { filter: other });
    expect(updated.status).toBe(200);
    expect(updated.body.data.filter).toEqual(other);
    const removed = await api.call('PUT', `/v1/webhooks/${id}`, { filter: null });
    expect(removed.body.data.filter).toBeNull();
    // {} matches every event: stored as no filter.
    expect((await api.call('PUT', `/v1/webhooks/${id}`, { filter: {} })).body.data.filter).toBeNull();
    expect((await create(undefined)).body.data.filter).toBeNull();

    const bad = await api.call('PUT', `/v1/webhooks/${id}`, {
      filter: { $and: [{}, { tags: { $in: 'x' } }] },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual({ 'filter.$and[1].tags.$in': ['must be an array'] });
    expect((await api.call('GET', `/v1/webhooks/${id}`)).body.data.filter).toBeNull();
  });

  it('names the exact field of every mistake', async () => {
    expect(await refusal({ $and: [{ data: 1 }, { data: { tags: { $in: [[]] } } }] })).toEqual({
      'filter.$and[1].data.tags.$in[0]': ['must be a string, number, boolean or null'],
    });
    expect(await refusal({ data: { template_id: { $regex: '^(a+)+$' } } })).toEqual({
      'filter.data.template_id.$regex': [expect.stringMatching(/^is not an operator/)],
    });
    expect(await refusal({ data: { $gt: 1, x: 2 } })).toEqual({
      'filter.data.x': ['is a field name beside the operator $gt'],
    });
    expect(await refusal({ $or: [] })).toEqual({ 'filter.$or': ['must not be empty'] });
    // Not an object at all: the request schema refuses it, naming the field.
    expect(await refusal('type = "x"')).toEqual({ filter: [expect.any(String)] });
    expect(await refusal([{ type: 'x' }])).toEqual({ filter: [expect.any(String)] });
  });

  it('depth: at, just past, far past', async () => {
    expect((await create(nested(FILTER_LIMITS.maxDepth))).status).toBe(201);
    const past = await refusal(nested(FILTER_LIMITS.maxDepth + 1));
    expect(past).toEqual({
      [`filter${'.a'.repeat(FILTER_LIMITS.maxDepth)}`]: ['is nested deeper than 8 levels'],
    });
    expect(await refusal(nested(1_500))).toEqual(past);
  });

  it('nodes: at, just past, far past', async () => {
    expect((await create(wide(FILTER_LIMITS.maxNodes))).status).toBe(201);
    const past = { 'filter.k255': ['has more than 256 nodes in the whole filter'] };
    expect(await refusal(wide(FILTER_LIMITS.maxNodes + 1))).toEqual(past);
    expect(await refusal(wide(1_200))).toEqual(past);
  });

  it('string length: at, just past, far past', async () => {
    const at = 'x'.repeat(FILTER_LIMITS.maxString);
    expect((await create({ data: { template_id: at } })).status).toBe(201);
    const past = { 'filter.data.template_id': ['may not be longer than 256 characters'] };
    expect(await refusal({ data: { template_id: `${at}x` } })).toEqual(past);
    expect(await refusal({ data: { template_id: 'x'.repeat(12_000) } })).toEqual(past);
  });

  it('array length: at, just past, far past', async () => {
    const f = (n: number) => ({ data: { email: { tags: { $in: strings(n) } } } });
    expect((await create(f(FILTER_LIMITS.maxArray))).status).toBe(201);
    const past = { 'filter.data.email.tags.$in': ['may not have more than 100 items'] };
    expect(await refusal(f(FILTER_LIMITS.maxArray + 1))).toEqual(past);
    expect(await refusal(f(2_000))).toEqual(past);
  });

  it('refuses a __proto__ key, or a constructor with a prototype, as a 422 naming the field, at any depth', async () => {
    const raw = async (text: string) => {
      const res = await api.call('POST', '/v1/webhooks', undefined, undefined, { body: text });
      return res.status === 422 ? res.body.errors : `${res.status} ${JSON.stringify(res.body)}`;
    };
    const body = (filter: string) =>
      `{"url":${JSON.stringify(url)},"name":"p","events":["activity.opened"],"domain_id":"dom-filters","filter":${filter}}`;
    const reason = ['is a reserved key (__proto__, or constructor with a prototype) and not allowed'];
    expect(await raw(body('[{"__proto__":null}]'))).toEqual({ 'filter.0.__proto__': reason });
    expect(await raw(body('{"data":{"constructor":{"prototype":{}}}}'))).toEqual({
      'filter.data.constructor': reason,
    });
    // (A computed key: `{ __proto__: … }` would set the literal's prototype instead.)
    const top = await raw(`{"__proto__":{"admin":true},${body('{}').slice(1)}`);
    expect(JSON.stringify(top)).toBe(JSON.stringify({ ['__proto__']: reason }));
    // As deep as the test API's 16 KiB body limit allows: named, not a stack overflow.
    const deep = `${'{"data":'.repeat(1_800)}{"__proto__":1}${'}'.repeat(1_800)}`;
    const refused = await raw(body(deep));
    expect(Object.keys(refused)).toEqual([`filter${'.data'.repeat(1_800)}.__proto__`]);
    // Not JSON at all stays a 400 that says so.
    expect(await raw(body('[{"__proto__":null}'))).toMatch(/^400 .*not valid JSON/);
  });

  it('arbitrary JSON as a filter is stored or refused with a field under filter, never a 5xx', async () => {
    const key = fc.oneof(
      fc.constantFrom(
        '$and',
        '$or',
        '$not',
        '$eq',
        '$in',
        '$nin',
        '$exists',
        '$startsWith',
        '$gt',
        'data',
        'type',
      ),
      fc.string({ maxLength: 6 }),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.jsonValue({ maxDepth: 1 }),
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(key, tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(fc.oneof(value, fc.dictionary(key, value, { maxKeys: 4 })), async (filter) => {
        const res = await create(filter);
        const said = `${JSON.stringify(filter)} -> ${res.status} ${JSON.stringify(res.body)}`;
        if (res.status === 201) {
          // What was sent is the JSON text (-0 is written 0), so that is what comes back.
          expect(res.body.data.filter ?? {}, said).toEqual(JSON.parse(JSON.stringify(filter ?? {})));
          return;
        }
        expect(res.status, said).toBe(422);
        const fields = Object.keys(res.body.errors);
        expect(fields.length, said).toBeGreaterThan(0);
        for (const field of fields) expect(field, said).toMatch(/^filter($|[.[])/);
      }),
      { numRuns: 150 },
    );
  });
});
