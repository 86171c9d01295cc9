/**
 * The sender's response handling against a raw TCP receiver that answers whatever a test asks: any
 * final status, informational heads before it, bodies of any length (plain or chunked), bodies cut
 * short, heads with no body after them, requests that wait behind a busy pool. The HTTP receiver of
 * the other tests cannot send most of these.
 */
import { createServer, type Server, type Socket } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSender } from './http.ts';
import { generateSecret } from './signing.ts';

interface Spec {
  status: number;
  /** 1xx heads sent before the final one (103 Early Hints). */
  informational: number;
  bodyBytes: number;
  chunked: boolean;
  /** What happens after the head: the whole body, `cut` bytes of it then FIN, or nothing ever. */
  end: { kind: 'full' } | { kind: 'cut'; after: number } | { kind: 'hang' };
}

const specs = new Map<string, Spec>();
const received: string[] = [];
let connections = 0;
let server: Server;
let origin: string;
const sockets = new Set<Socket>();

function bodyOf(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i += 1) b[i] = 0x61 + (i % 26);
  return b;
}

function answer(socket: Socket, spec: Spec): void {
  let head = '';
  for (let i = 0; i < spec.informational; i += 1)
    head += 'HTTP/1.1 103 Early Hints\r\nlink: </a>; rel=preload\r\n\r\n';
  const framing = spec.chunked ? 'transfer-encoding: chunked' : `content-length: ${spec.bodyBytes}`;
  head += `HTTP/1.1 ${spec.status} X\r\n${framing}\r\nretry-after: 7\r\n\r\n`;
  socket.write(head);
  if (spec.end.kind === 'hang') return;
  const body = bodyOf(spec.bodyBytes);
  const wire = spec.chunked
    ? Buffer.concat([
        ...(body.length > 0
          ? [Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n')]
          : []),
        Buffer.from('0\r\n\r\n'),
      ])
    : body;
  if (spec.end.kind === 'cut') {
    socket.end(wire.subarray(0, spec.end.after));
    return;
  }
  socket.write(wire);
}

beforeAll(async () => {
  server = createServer((socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      for (;;) {
        const headEnd = buffered.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buffered.subarray(0, headEnd).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < headEnd + 4 + length) return;
        buffered = buffered.subarray(headEnd + 4 + length);
        const path = head.split(' ')[1]!;
        received.push(path);
        if (path.startsWith('/silent')) continue; // reads the request, never answers
        const spec = specs.get(path.slice(1));
        if (spec) answer(socket, spec);
        else socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
});

const secret = generateSecret();
const batch = { batch_id: 'bat_x', format: 'json' as const, body: '[{"type":"activity.sent"}]' };
const webhook = (path: string, timeoutMs: number) => ({
  url: `${origin}/${path}`,
  secrets: [{ value: secret, created_at: 1, expires_at: null }],
  timeout_ms: timeoutMs,
  auth: null,
});
const kindOf = (status: number) =>
  status >= 200 && status < 300 ? 'delivered' : status === 410 ? 'gone' : 'retry';

describe('HttpSender responses', () => {
  it('property: whatever follows the head, the status is the answer, with the bytes that came as the excerpt', async () => {
    const sender = new HttpSender({ allow: { loopback: true } });
    let n = 0;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            status: fc.integer({ min: 200, max: 599 }),
            informational: fc.integer({ min: 0, max: 2 }),
            bodyBytes: fc.oneof(
              fc.constant(0),
              fc.integer({ min: 1, max: 2_000 }),
              // at, just past and far past the 64 KiB read before a connection is given up
              fc.constantFrom(65_535, 65_536, 65_537, 200_000),
            ),
            chunked: fc.boolean(),
            end: fc.oneof(
              { weight: 6, arbitrary: fc.constant({ kind: 'full' as const }) },
              {
                weight: 3,
                arbitrary: fc.nat({ max: 3_000 }).map((after) => ({ kind: 'cut' as const, after })),
              },
              { weight: 1, arbitrary: fc.constant({ kind: 'hang' as const }) },
            ),
          }),
          async (drawn) => {
            // 204 and 304 have no body by definition (RFC 9110): a receiver sending one breaks framing.
            const spec = drawn.status === 204 || drawn.status === 304 ? { ...drawn, bodyBytes: 0 } : drawn;
            const path = `p${n++}`;
            specs.set(path, spec);
            const outcome = await sender.send({ webhook: webhook(path, 400), batch, attempt: 1 });
            expect(outcome.status).toBe(spec.status);
            expect(outcome.kind).toBe(kindOf(spec.status));
            // What reached the client: all of it, or the cut's first bytes; a hang sends none.
            const sent = spec.end.kind === 'full' ? spec.bodyBytes : spec.end.kind === 'hang' ? 0 : -1;
            if (sent >= 0) {
              const expected = bodyOf(Math.min(sent, 1024)).toString('latin1');
              expect(outcome.responseExcerpt).toBe(expected === '' ? null : expected);
            } else {
              // A cut counts the chunk framing too: the excerpt is some prefix of the body.
              expect(
                bodyOf(1024)
                  .toString('latin1')
                  .startsWith(outcome.responseExcerpt ?? ''),
              ).toBe(true);
            }
            if (spec.status === 429 || spec.status === 503) expect(outcome.retryAfterMs).toBe(7000);
            else expect(outcome.retryAfterMs).toBeNull();
          },
        ),
        { numRuns: 80 },
      );
    } finally {
      await sender.close();
    }
    // ~8 of the 80 runs hang to their 400 ms timeout: ~4 s here, more on a loaded machine.
  }, 30_000);

  it('gives up a connection whose body runs past the drain limit, and opens a new one for the next', async () => {
    const sender = new HttpSender({ allow: { loopback: true }, connectionsPerOrigin: 1 });
    try {
      specs.set('long', {
        status: 200,
        informational: 0,
        bodyBytes: 1 << 20,
        chunked: false,
        end: { kind: 'full' },
      });
      specs.set('short', {
        status: 200,
        informational: 0,
        bodyBytes: 64_000,
        chunked: false,
        end: { kind: 'full' },
      });
      const before = connections;
      expect((await sender.send({ webhook: webhook('short', 5_000), batch, attempt: 1 })).kind).toBe(
        'delivered',
      );
      expect((await sender.send({ webhook: webhook('short', 5_000), batch, attempt: 1 })).kind).toBe(
        'delivered',
      );
      expect(connections - before).toBe(1);
      const long = await sender.send({ webhook: webhook('long', 5_000), batch, attempt: 1 });
      expect(long).toMatchObject({ kind: 'delivered', status: 200 });
      expect(long.responseExcerpt).toHaveLength(1024);
      expect((await sender.send({ webhook: webhook('short', 5_000), batch, attempt: 1 })).kind).toBe(
        'delivered',
      );
      expect(connections - before).toBe(2);
    } finally {
      await sender.close();
    }
  });

  it('times out a request waiting behind a busy pool at its own bound, and never sends it afterwards', async () => {
    const sender = new HttpSender({ allow: { loopback: true }, connectionsPerOrigin: 1 });
    try {
      received.length = 0;
      const stuck = sender.send({ webhook: webhook('silent', 1_500), batch, attempt: 1 });
      await expect.poll(() => received.length).toBe(1);
      const queued = await sender.send({ webhook: webhook('queued', 200), batch, attempt: 1 });
      expect(queued).toMatchObject({ kind: 'retry', status: null, error: 'timeout after 200 ms' });
      expect(queued.latencyMs).toBeLessThan(1_500);
      expect(await stuck).toMatchObject({ kind: 'retry', status: null, error: 'timeout after 1500 ms' });
      // The pool's one connection is free again: the next request goes, and the abandoned one never did.
      expect((await sender.send({ webhook: webhook('after', 5_000), batch, attempt: 1 })).kind).toBe(
        'delivered',
      );
      expect(received).toEqual(['/silent', '/after']);
    } finally {
      await sender.close();
    }
  });
});
