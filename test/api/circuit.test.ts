/**
 * A webhook's circuit breaker in GET /v1/webhooks/{id}, from the attempt records on the real broker
 * (each carries the circuit of the delivery process that made it; test/delivery/circuit-breaker.test.ts
 * checks delivery writes them): closed with no history, open with its next probe, half-open once the
 * probe time has passed, closed again after a success; records without a circuit (older ones) and
 * arbitrary attempt bytes beside them change nothing.
 */
import type { AttemptCircuit } from '@hookpost/contracts';
import { provisionTopics } from '@hookpost/kafka';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { waitFor } from '../support/env.ts';
import { makeAttempt } from '../support/factories.ts';
import { apiTest, TOKENS } from './support.ts';

const it = apiTest({ webhook: { name: 'circuit', domain: 'dom-circuit' } });

it.beforeAll(async ({ env, api: _api }) => {
  await provisionTopics(env.admin, [env.catalog.topics.attempts]);
});

describe('circuit state at the API', () => {
  it('closed, open with its probe time, half-open past it, closed after a success', async ({
    env,
    api,
    create,
    producer,
  }) => {
    const w = await create();
    const get = async () => (await api.call('GET', `/v1/webhooks/${w.id}`)).body.data.circuit;
    expect(await get()).toEqual({ state: 'closed', failures: 0, probe_at: null, as_of: null });

    const topic = env.catalog.topics.attempts.name;
    const now = Date.now();
    const put = (at: number, status: number | null, circuit?: AttemptCircuit) =>
      producer.send(topic, [
        {
          key: w.id,
          value: JSON.stringify({
            ...makeAttempt(w.id, `${w.id}-b${at}`, { at, status, outcome: 'retry', error: 'HTTP 500' }),
            ...(circuit && { circuit }),
          }),
        },
      ]);
    // Noise first: arbitrary bytes and an older record without a circuit.
    const noise = fc.sample(fc.uint8Array({ maxLength: 200 }), 50);
    await producer.send(
      topic,
      noise.map((bytes) => ({ key: w.id, value: Buffer.from(bytes) })),
    );
    await put(now - 10_000, 500);
    await put(now - 5_000, 500, { state: 'open', failures: 5, probe_at: now + 60 * 60_000 });
    const open = await waitFor(async () => ((await get()).state === 'open' ? get() : undefined), {
      what: 'the circuit open at the API',
    });
    expect(open).toEqual({
      state: 'open',
      failures: 5,
      probe_at: new Date(now + 60 * 60_000).toISOString(),
      as_of: new Date(now - 5_000).toISOString(),
    });
    // Another domain's token cannot see it.
    expect((await api.call('GET', `/v1/webhooks/${w.id}`, undefined, TOKENS.scoped)).status).toBe(404);

    // An open circuit whose probe time has passed reads half-open.
    await put(now - 4_000, null, { state: 'open', failures: 5, probe_at: now - 1 });
    await waitFor(async () => (await get()).state === 'half_open', { what: 'half-open past the probe time' });

    await put(now - 3_000, 200, { state: 'closed', failures: 0, probe_at: null });
    await waitFor(async () => (await get()).state === 'closed' && (await get()).as_of !== null, {
      what: 'closed after the successful probe',
    });
    // An older record read later does not override the newest.
    await put(now - 60_000, 500, { state: 'open', failures: 9, probe_at: now + 60_000 });
    const marker = `${w.id}-b${now - 60_000}`;
    await waitFor(
      async () =>
        (await api.call('GET', `/v1/webhooks/${w.id}/attempts`)).body.data.some(
          (a: { batch_id: string }) => a.batch_id === marker,
        ),
      { what: 'the late record in the history' },
    );
    expect((await get()).state).toBe('closed');
  });

  it('is in the OpenAPI document', async ({ api }) => {
    const doc = JSON.stringify((await api.call('GET', '/openapi.json', undefined, null)).body);
    expect(doc).toContain('half_open');
    expect(doc).toContain('probe_at');
  });
});
