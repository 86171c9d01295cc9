import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistry, registerSchema } from './registry.ts';

const SCHEMA = {
  type: 'record',
  name: 'Probe',
  namespace: 'test.hookpost',
  fields: [{ name: 'id', type: 'string' }],
};

/**
 * A registry that leaves the first `hang` requests of each "METHOD path" unanswered (as Apicurio once
 * did in CI) and answers the rest with `answer`.
 */
async function flakyRegistry(
  hang: number,
  answer: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; seen: Map<string, number>; close: () => Promise<void> }> {
  const seen = new Map<string, number>();
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const key = `${req.method} ${req.url}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    req.resume();
    if (n <= hang) return; // accepted, never answered
    req.on('end', () => answer(req, res));
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' }).end(JSON.stringify(body));
}

/** Answers the calls registerSchema makes, and GET /schemas/ids/7. */
function answers(req: IncomingMessage, res: ServerResponse): void {
  const { method, url = '' } = req;
  if (method === 'PUT' && url.startsWith('/config/')) json(res, { compatibility: 'BACKWARD' });
  else if (method === 'GET' && url.startsWith('/config/')) json(res, { compatibilityLevel: 'BACKWARD' });
  else if (method === 'POST' && url.endsWith('/versions')) json(res, { id: 7 });
  else if (method === 'GET' && url === '/schemas/ids/7') json(res, { schema: JSON.stringify(SCHEMA) });
  else res.writeHead(404).end();
}

describe('schema registry client: a registry that accepts a request and never answers it', () => {
  let close: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await close?.();
    close = undefined;
  });

  it('registers once the unanswered requests time out and are sent again', async () => {
    const fake = await flakyRegistry(1, answers);
    close = fake.close;
    const registry = createRegistry(fake.url, { requestTimeoutMs: 500 });
    const id = await registerSchema(registry, fake.url, 'probe-value', SCHEMA, 'BACKWARD', 500);
    expect(id).toBe(7);
    // Each call was left unanswered once, then sent again (a stalled test process may add a try:
    // its timer then fires before the answer is read).
    expect(fake.seen.get('PUT /config/probe-value')).toBeGreaterThanOrEqual(2);
    expect(fake.seen.get('POST /subjects/probe-value/versions')).toBeGreaterThanOrEqual(2);
  });

  it('fetches a schema by id once an unanswered fetch times out', async () => {
    const fake = await flakyRegistry(2, answers);
    close = fake.close;
    const registry = createRegistry(fake.url, { requestTimeoutMs: 500 });
    const schema = await registry.getSchema(7);
    expect(schema).toBeDefined();
    expect(fake.seen.get('GET /schemas/ids/7')).toBeGreaterThanOrEqual(3);
  });

  it('fails, naming the timeout, when the registry never answers, instead of waiting for ever', async () => {
    const fake = await flakyRegistry(Number.POSITIVE_INFINITY, answers);
    close = fake.close;
    const registry = createRegistry(fake.url, { requestTimeoutMs: 100 });
    await expect(registry.getSchema(7)).rejects.toThrow(/Timeout \(100ms\)/);
    // The first try and the client's three retries.
    expect(fake.seen.get('GET /schemas/ids/7')).toBe(4);
    await expect(registerSchema(registry, fake.url, 'probe-value', SCHEMA, 'BACKWARD', 100)).rejects.toThrow(
      /timeout|aborted/i,
    );
    expect(fake.seen.get('PUT /config/probe-value')).toBe(3);
  });
});
