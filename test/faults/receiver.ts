/**
 * The fault test's webhook endpoint: one HTTP server, one path per webhook (`/<mode>/<webhook id>`),
 * counting every (event, webhook) pair it answered 2xx for and checking both signatures of every
 * request with that webhook's secret. Modes make every delivery role carry traffic all the time:
 *   ok       200
 *   retry1   500 to the first attempt of each batch (webhook-id header), then 200: the first tier
 *   retry2   500 to the first two attempts of each batch, then 200: both tiers
 *   dead     always 500: the batch is exhausted, dead-lettered, and the webhook suspended
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifySignatures } from '@hookpost/sender';

export type Mode = 'ok' | 'retry1' | 'retry2' | 'dead';
const FAILURES: Record<Mode, number> = { ok: 0, retry1: 1, retry2: 2, dead: Number.POSITIVE_INFINITY };

export interface CountingReceiver {
  url: string;
  /** (event id > webhook id) → times it arrived in a request answered 200. */
  pairs: Map<string, number>;
  stats: { requests: number; delivered: number; failed: number; badSignatures: number; unreadable: number };
  /** Registers a webhook's secret (before it can receive). */
  secret(webhookId: string, secret: string): void;
  close(): Promise<void>;
}

/** Items of a JSON array or JSON Lines body; null when it is neither. */
function items(body: string, contentType: string | undefined): Record<string, unknown>[] | null {
  try {
    if (contentType?.startsWith('application/x-ndjson'))
      return body
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l));
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) ? parsed : null;
  } catch {
    return null;
  }
}

async function read(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export async function startCountingReceiver(): Promise<CountingReceiver> {
  const pairs = new Map<string, number>();
  const secrets = new Map<string, string>();
  const attempts = new Map<string, number>();
  const stats = { requests: 0, delivered: 0, failed: 0, badSignatures: 0, unreadable: 0 };
  const sockets = new Set<Socket>();
  const server = createServer(async (req, res) => {
    const body = await read(req);
    stats.requests += 1;
    const [mode, webhookId] = (req.url ?? '').split('/').filter(Boolean) as [Mode, string];
    const secret = secrets.get(webhookId);
    if (!(mode in FAILURES) || !secret) {
      res.writeHead(404).end();
      return;
    }
    if (!verifySignatures(req.headers, body, [secret])) stats.badSignatures += 1;
    const batchId = `${webhookId}/${String(req.headers['webhook-id'])}`;
    const attempt = (attempts.get(batchId) ?? 0) + 1;
    attempts.set(batchId, attempt);
    if (attempt <= FAILURES[mode]) {
      stats.failed += 1;
      res.writeHead(500).end('injected failure');
      return;
    }
    const list = items(body.toString('utf8'), req.headers['content-type']);
    if (!list) stats.unreadable += 1;
    for (const item of list ?? []) {
      const key = `${(item.data as { id?: string } | undefined)?.id}>${String(item.webhook_id)}`;
      pairs.set(key, (pairs.get(key) ?? 0) + 1);
    }
    stats.delivered += 1;
    res.writeHead(200).end('ok');
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    pairs,
    stats,
    secret: (id, s) => void secrets.set(id, s),
    close: async () => {
      const closed = new Promise<void>((r) => server.close(() => r()));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
