/**
 * A fake webhook receiver for tests, the demo and the benchmark: one node:http server on 127.0.0.1
 * whose behaviour is chosen by the request path, so one receiver serves many webhooks.
 *
 *   /ok                          200
 *   /fail/<n>[/<status>]         <status> (default 500) for the first n requests, then 200
 *   /hang                        never answers (until close)
 *   /reset                       destroys the socket without answering
 *   /429/<sec>[/<n>]             429 + Retry-After: <sec>, always or for the first n requests, then 200
 *   /503/<sec>[/<n>]             the same with 503
 *   /410                         410 Gone
 *   /slow/<ms>                   200 after <ms>
 *   /status/<code>               <code> (e.g. 301 with Location: /ok, 400, 500)
 *   /big/<bytes>                 200 with a body of <bytes> bytes
 *   /echo/<status>               <status> with the request line and headers as body (as error pages do)
 *
 * Any further path segments are free (e.g. `/fail/3/500/wh_7`): counters are kept per full path, so
 * webhooks sharing a behaviour do not share its count. Unknown paths answer 404.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HEADERS, SECRET_PREFIX } from './definitions.ts';

export type Behaviour =
  | { kind: 'ok' }
  | { kind: 'fail'; times: number; status: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'retry-after'; status: 429 | 503; retryAfter: string; times: number | null }
  | { kind: 'status'; status: number }
  | { kind: 'slow'; ms: number }
  | { kind: 'big'; bytes: number }
  | { kind: 'echo'; status: number };

interface ReceivedRequest {
  /** Arrival time (ms, the receiver's `now`). */
  at: number;
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: string;
  /** Events in the body: array length for JSON, non-empty lines for JSON Lines; null if unreadable. */
  events: number | null;
  /** Client port: equal ports on two requests mean the sender reused the connection. */
  remotePort: number;
  /** Both signature schemes verify with one of `secrets`; null when the receiver has no secrets. */
  verified: boolean | null;
  /** What the receiver answered; null for hang and reset. */
  status: number | null;
}

export interface ReceiverOptions {
  port?: number;
  /** Secrets to verify signatures with (any may match, as during a rotation). */
  secrets?: readonly string[];
  /** Overrides the path-based behaviour for the paths it returns a value for. */
  behaviour?: (path: string) => Behaviour | undefined;
  now?: () => number;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Resolves once `predicate` holds for the recorded requests; rejects after `timeoutMs`. */
  waitFor(predicate: (requests: ReceivedRequest[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** The behaviour a path asks for, or null for an unknown path. */
export function behaviourForPath(path: string): Behaviour | null {
  const [name, ...args] = path.split('/').filter(Boolean);
  const num = (i: number): number | null => {
    const a = args[i];
    return a !== undefined && /^\d+$/.test(a) ? Number(a) : null;
  };
  switch (name) {
    case 'ok':
      return { kind: 'ok' };
    case 'fail':
      return { kind: 'fail', times: num(0) ?? 1, status: num(1) ?? 500 };
    case 'hang':
      return { kind: 'hang' };
    case 'reset':
      return { kind: 'reset' };
    case '429':
    case '503':
      return {
        kind: 'retry-after',
        status: name === '429' ? 429 : 503,
        retryAfter: String(num(0) ?? 1),
        times: num(1),
      };
    case '410':
      return { kind: 'status', status: 410 };
    case 'status':
      return { kind: 'status', status: num(0) ?? 200 };
    case 'slow':
      return { kind: 'slow', ms: num(0) ?? 100 };
    case 'big':
      return { kind: 'big', bytes: num(0) ?? 4096 };
    case 'echo':
      return { kind: 'echo', status: num(0) ?? 200 };
    default:
      return null;
  }
}

function countEvents(body: string, contentType: string | undefined): number | null {
  try {
    if (contentType?.startsWith('application/x-ndjson')) {
      const lines = body.split('\n').filter((l) => l.trim() !== '');
      for (const line of lines) JSON.parse(line);
      return lines.length;
    }
    const parsed: unknown = JSON.parse(body);
    return Array.isArray(parsed) ? parsed.length : null;
  } catch {
    return null;
  }
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Each secret's keys, decoded once as a receiver keeps its secret (bounded: cleared when full). */
const KEYS = new Map<string, { standard: KeyObject; mailerSend: KeyObject }>();
const MAX_KEYS = 10_000;

function keysFor(secret: string): { standard: KeyObject; mailerSend: KeyObject } {
  let keys = KEYS.get(secret);
  if (!keys) {
    if (KEYS.size >= MAX_KEYS) KEYS.clear();
    keys = {
      standard: createSecretKey(Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64')),
      mailerSend: createSecretKey(Buffer.from(secret, 'utf8')),
    };
    KEYS.set(secret, keys);
  }
  return keys;
}

/**
 * Verifies as a receiver would, written against the specifications rather than by re-signing, so a
 * mistake in signing.ts does not verify itself: `Signature` with the secret string as HMAC key, and
 * any `v1,` entry of `webhook-signature` with the decoded key.
 */
export function verifySignatures(
  headers: IncomingHttpHeaders,
  body: Buffer,
  secrets: readonly string[],
): boolean {
  const id = headers[HEADERS.webhookId];
  const timestamp = headers[HEADERS.webhookTimestamp];
  const list = headers[HEADERS.webhookSignature];
  const signature = headers[HEADERS.signature.toLowerCase()];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof list !== 'string') return false;
  if (typeof signature !== 'string') return false;
  const entries = list.split(' ').map((e) => e.split(','));
  let standard = false;
  let mailerSend = false;
  for (const secret of secrets) {
    if (!secret.startsWith(SECRET_PREFIX)) continue;
    const keys = keysFor(secret);
    const mac = createHmac('sha256', keys.standard)
      .update(`${id}.${timestamp}.`)
      .update(body)
      .digest('base64');
    if (entries.some(([version, value]) => version === 'v1' && value !== undefined && safeEqual(value, mac)))
      standard = true;
    if (safeEqual(signature, createHmac('sha256', keys.mailerSend).update(body).digest('hex')))
      mailerSend = true;
  }
  return standard && mailerSend;
}

export async function startReceiver(options: ReceiverOptions = {}): Promise<Receiver> {
  const now = options.now ?? Date.now;
  const requests: ReceivedRequest[] = [];
  const counts = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of waiters) w();
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      const url = new URL(req.url ?? '/', 'http://receiver');
      const body = Buffer.concat(chunks);
      const seen = (counts.get(url.pathname) ?? 0) + 1;
      counts.set(url.pathname, seen);
      const behaviour = options.behaviour?.(url.pathname) ?? behaviourForPath(url.pathname);
      const record: ReceivedRequest = {
        at,
        method: req.method ?? '',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        body: body.toString('utf8'),
        events: countEvents(body.toString('utf8'), req.headers['content-type']),
        remotePort: req.socket.remotePort ?? 0,
        verified: options.secrets ? verifySignatures(req.headers, body, options.secrets) : null,
        status: null,
      };
      requests.push(record);
      notify();
      const answer = reply(behaviour, seen, record);
      if (answer === 'hang') return;
      if (answer === 'reset') {
        // RST, not FIN: what a crashing proxy or a killed process looks like to the sender.
        req.socket.resetAndDestroy();
        return;
      }
      const send = () => {
        record.status = answer.status;
        res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
        res.end(answer.text ?? '');
        notify();
      };
      if (!answer.delayMs) return send();
      const timer = setTimeout(() => {
        timers.delete(timer);
        send();
      }, answer.delayMs);
      timers.add(timer);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    waitFor(predicate, timeoutMs = 5_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!predicate(requests)) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(`receiver: condition not met within ${timeoutMs} ms (${requests.length} requests)`),
          );
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Hanging requests and idle keep-alive sockets would hold close() open forever.
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}

type Reply = { status: number; headers?: Record<string, string>; text?: string; delayMs?: number };

/** What to answer to the `seen`-th request on a path; null means send nothing. */
function reply(
  behaviour: Behaviour | null,
  seen: number,
  request: ReceivedRequest,
): Reply | 'hang' | 'reset' {
  const ok: Reply = { status: 200, text: 'ok' };
  if (!behaviour) return { status: 404, text: 'unknown behaviour' };
  switch (behaviour.kind) {
    case 'ok':
      return ok;
    case 'fail':
      return seen <= behaviour.times ? { status: behaviour.status, text: `failure ${seen}` } : ok;
    case 'hang':
      return 'hang';
    case 'reset':
      return 'reset';
    case 'retry-after':
      return behaviour.times === null || seen <= behaviour.times
        ? { status: behaviour.status, headers: { 'retry-after': behaviour.retryAfter }, text: 'slow down' }
        : ok;
    case 'status': {
      const redirect = behaviour.status >= 300 && behaviour.status < 400;
      return { status: behaviour.status, headers: redirect ? { location: '/ok' } : {} };
    }
    case 'slow':
      return { ...ok, delayMs: behaviour.ms };
    case 'big':
      return { status: 200, text: 'x'.repeat(behaviour.bytes) };
    case 'echo': {
      const query = new URLSearchParams(request.query).toString();
      const line = `${request.method} ${request.path}${query ? `?${query}` : ''}`;
      return { status: behaviour.status, text: `${line}\n${JSON.stringify(request.headers)}` };
    }
  }
}
