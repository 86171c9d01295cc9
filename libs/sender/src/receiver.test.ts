import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { behaviourForPath, type Receiver, startReceiver } from './receiver.ts';
import { generateSecret, signRequest } from './signing.ts';

/** A raw POST with node:http, so these tests do not depend on the sender they help test. */
function post(receiver: Receiver, path: string, body: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number | null; error: string | null }>((resolve) => {
    const req = request(`${receiver.url}${path}`, { method: 'POST', headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? null, error: null }));
    });
    req.on('error', (error: NodeJS.ErrnoException) =>
      resolve({ status: null, error: error.code ?? 'error' }),
    );
    req.end(body);
  });
}

describe('behaviourForPath', () => {
  it.each([
    ['/ok', { kind: 'ok' }],
    ['/fail/3', { kind: 'fail', times: 3, status: 500 }],
    ['/fail/2/503/wh_7', { kind: 'fail', times: 2, status: 503 }],
    ['/429/2', { kind: 'retry-after', status: 429, retryAfter: '2', times: null }],
    ['/503/5/1', { kind: 'retry-after', status: 503, retryAfter: '5', times: 1 }],
    ['/410', { kind: 'status', status: 410 }],
    ['/slow/200', { kind: 'slow', ms: 200 }],
    ['/hang', { kind: 'hang' }],
    ['/reset', { kind: 'reset' }],
    ['/nope', null],
  ])('%s', (path, behaviour) => {
    expect(behaviourForPath(path)).toEqual(behaviour);
  });
});

describe('startReceiver', () => {
  it('counts failures per full path, so webhooks sharing a behaviour do not share its count', async () => {
    const receiver = await startReceiver();
    try {
      const statuses: (number | null)[] = [];
      for (const path of ['/fail/2/a', '/fail/2/b', '/fail/2/a', '/fail/2/a', '/fail/2/b'])
        statuses.push((await post(receiver, path, '[]')).status);
      expect(statuses).toEqual([500, 500, 500, 200, 500]);
    } finally {
      await receiver.close();
    }
  });

  it('records verified only when both signature schemes match one of its secrets', async () => {
    const secret = generateSecret();
    const receiver = await startReceiver({ secrets: [generateSecret(), secret] });
    try {
      const body = '{"a":1}\n{"a":2}\n';
      const signed = signRequest({ id: 'b1', timestampSec: 1, body, secrets: [secret] });
      if (!signed.ok) throw new Error(signed.reason);
      const headers = { ...signed.headers, 'content-type': 'application/x-ndjson' };
      await post(receiver, '/ok', body, headers);
      await post(receiver, '/ok', `${body} `, headers);
      await post(receiver, '/ok', body, { ...headers, Signature: '00' });
      await post(receiver, '/ok', body, { 'content-type': 'application/x-ndjson' });
      expect(receiver.requests.map((r) => r.verified)).toEqual([true, false, false, false]);
      expect(receiver.requests[0]).toMatchObject({ events: 2, status: 200 });
    } finally {
      await receiver.close();
    }
  });

  it('resets, hangs until closed, and lets a test wait for what arrived', async () => {
    const receiver = await startReceiver();
    const reset = await post(receiver, '/reset', '[]');
    expect(reset).toEqual({ status: null, error: 'ECONNRESET' });
    const hanging = post(receiver, '/hang', '[1]');
    await receiver.waitFor((requests) => requests.some((r) => r.path === '/hang'));
    expect(receiver.requests.at(-1)).toMatchObject({ events: 1, status: null });
    await receiver.close();
    expect((await hanging).status).toBeNull();
    await expect(receiver.waitFor(() => false, 50)).rejects.toThrow(/not met within 50 ms/);
  });
});
