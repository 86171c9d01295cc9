/**
 * The receiver guide's verification snippets (docs/examples/receivers/) run here against what our real
 * HttpSender puts on the wire: a local server captures the raw body and headers of each request, and
 * every snippet must verify them, list the event ids, and reject a tampered body, a stale timestamp and
 * a wrong secret. Go and PHP snippets run too when `go` / `php` are on the machine (the Go one also
 * against the golden vectors in libs/sender); Python runs in the venv scripts/receivers-venv.sh makes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PayloadFormat } from '@hookpost/contracts';
import { EVENT_TYPES } from '@hookpost/events';
import { generateSecret, HttpSender } from '@hookpost/sender';
import { describe, expect } from 'vitest';
import { it } from '../support/fixtures.ts';

const root = new URL('../../', import.meta.url).pathname;
const examples = `${root}docs/examples/receivers/`;
const dir = mkdtempSync(join(tmpdir(), 'hp-receivers-'));

interface Captured {
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

/** One runnable snippet: argv before `<request.json> <secret> [now]`, and whether it checks `Signature` too. */
interface Snippet {
  name: string;
  argv: string[];
  mailersend: boolean;
  /** Takes a `now` argument (the library-based ones use the real clock). */
  clock: boolean;
}

function run(snippet: Snippet, request: string, secret: string, now?: number) {
  const args = [...snippet.argv.slice(1), request, secret, ...(now === undefined ? [] : [String(now)])];
  const r = spawnSync(snippet.argv[0]!, args, { encoding: 'utf8', timeout: 60_000 });
  const out = r.status === 0 ? (JSON.parse(r.stdout) as Record<string, unknown>) : null;
  return { status: r.status, out, stderr: r.stderr };
}

function requestFile(name: string, headers: Record<string, unknown>, body: Buffer): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ headers, body_base64: body.toString('base64') }));
  return file;
}

const payloads = EVENT_TYPES.map(
  (t) => JSON.parse(readFileSync(`${root}docs/payloads/${t}.json`, 'utf8')) as Record<string, unknown>,
);
const eventIds = payloads.map((p) => {
  const data = p.data as Record<string, string>;
  return String(p.type).startsWith('activity.') ? data.id : data.event_id;
});
/** The batcher's two body shapes (services/batcher accumulator): a JSON array, or JSON Lines. */
const bodyFor = (format: PayloadFormat) =>
  format === 'jsonl'
    ? `${payloads.map((p) => JSON.stringify(p)).join('\n')}\n`
    : `[${payloads.map((p) => JSON.stringify(p)).join(',')}]`;

let server: Server;
let url: string;
const captured: Captured[] = [];
let snippets: Snippet[] = [];
const oldSecret = generateSecret();
const newSecret = generateSecret();

// No Kafka here (the file asks for no env): only `owned`, which closes the server, then removes the dir.
it.beforeAll(async ({ owned }) => {
  owned.own(dir, (d) => rmSync(d, { recursive: true, force: true }));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      captured.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  owned.own(server, (srv) => new Promise((r) => srv.close(r)));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const python = execFileSync('bash', [`${root}scripts/receivers-venv.sh`], { encoding: 'utf8' }).trim();
  snippets = [
    { name: 'node', argv: [process.execPath, `${examples}node/verify.mjs`], mailersend: true, clock: true },
    {
      name: 'node standardwebhooks',
      argv: [process.execPath, `${examples}node/standardwebhooks.mjs`],
      mailersend: false,
      clock: false,
    },
    { name: 'python', argv: [python, `${examples}python/verify.py`], mailersend: true, clock: true },
    {
      name: 'python standardwebhooks',
      argv: [python, `${examples}python/standardwebhooks_verify.py`],
      mailersend: false,
      clock: false,
    },
  ];
  if (has('go')) {
    const bin = join(dir, 'verify-go');
    execFileSync('go', ['build', '-o', bin, `${examples}go/verify.go`], {
      stdio: 'inherit',
      timeout: 180_000,
    });
    snippets.push({ name: 'go', argv: [bin], mailersend: true, clock: true });
  }
  if (has('php'))
    snippets.push({ name: 'php', argv: ['php', `${examples}php/verify.php`], mailersend: true, clock: true });
}, 240_000);

async function sendReal(format: PayloadFormat, secrets: { value: string; created_at: number }[]) {
  const sender = new HttpSender({ allow: { loopback: true } });
  try {
    const before = captured.length;
    const batchId = `bat_${format}_${Date.now()}`;
    const outcome = await sender.send({
      webhook: {
        url,
        timeout_ms: 10_000,
        auth: null,
        secrets: secrets.map((s) => ({ ...s, expires_at: null })),
      },
      batch: { batch_id: batchId, body: bodyFor(format), format },
      attempt: 1,
    });
    expect(outcome.kind).toBe('delivered');
    expect(captured.length).toBe(before + 1);
    return { batchId, request: captured[captured.length - 1]! };
  } finally {
    await sender.close();
  }
}

describe('receiver guide snippets, against requests our sender produced', () => {
  it('runs every snippet available on this machine (node and python always)', () => {
    expect(snippets.map((s) => s.name)).toEqual(
      expect.arrayContaining(['node', 'node standardwebhooks', 'python', 'python standardwebhooks']),
    );
  });

  for (const format of ['json', 'jsonl'] as const) {
    it(`verifies a ${format} batch, lists its event ids and rejects forgeries`, async () => {
      const { batchId, request } = await sendReal(format, [{ value: newSecret, created_at: 1 }]);
      const headers = request.headers as Record<string, string>;
      const good = requestFile(`good-${format}`, headers, request.body);
      const tampered = Buffer.from(request.body);
      tampered.writeUInt8(tampered.readUInt8(tampered.length - 3) ^ 1, tampered.length - 3);
      const bad = requestFile(`tampered-${format}`, headers, tampered);
      const ts = Number(headers['webhook-timestamp']);
      for (const s of snippets) {
        const ok = run(s, good, newSecret);
        expect(ok.status, `${s.name}: ${ok.stderr}`).toBe(0);
        expect(ok.out, s.name).toMatchObject({ standard: true, batch_id: batchId, event_ids: eventIds });
        if (s.mailersend) expect(ok.out?.mailersend, s.name).toBe(true);
        expect(run(s, bad, newSecret).status, `${s.name} accepted a tampered body`).not.toBe(0);
        expect(run(s, good, oldSecret).status, `${s.name} accepted a wrong secret`).not.toBe(0);
        if (s.clock) {
          expect(run(s, good, newSecret, ts + 300).status, `${s.name} at the tolerance`).toBe(0);
          expect(run(s, good, newSecret, ts + 301).status, `${s.name} accepted a stale timestamp`).not.toBe(
            0,
          );
          expect(run(s, good, newSecret, ts - 301).status, `${s.name} accepted a future timestamp`).not.toBe(
            0,
          );
        }
      }
    }, 120_000);
  }

  it('verifies with either secret during a rotation (Signature carries the newest only)', async () => {
    const { request } = await sendReal('json', [
      { value: oldSecret, created_at: 1 },
      { value: newSecret, created_at: 2 },
    ]);
    const headers = request.headers as Record<string, string>;
    expect(headers['webhook-signature']!.split(' ')).toHaveLength(2);
    const file = requestFile('rotation', headers, request.body);
    for (const s of snippets) {
      for (const secret of [oldSecret, newSecret]) {
        const r = run(s, file, secret);
        expect(r.status, `${s.name}: ${r.stderr}`).toBe(0);
        if (s.mailersend) expect(r.out?.mailersend, s.name).toBe(secret === newSecret);
      }
    }
  }, 120_000);

  it('agrees with the golden signing vectors (libs/sender/src/signing-vectors.json)', () => {
    const vectors = JSON.parse(readFileSync(`${root}libs/sender/src/signing-vectors.json`, 'utf8')) as {
      name: string;
      secrets: string[];
      timestamp: number;
      body: string;
      expected: Record<string, string>;
    }[];
    expect(vectors.length).toBeGreaterThan(0);
    for (const v of vectors) {
      const body = Buffer.from(v.body, 'utf8');
      const file = requestFile('vector', v.expected, body);
      for (const s of snippets.filter((x) => x.clock)) {
        for (const [i, secret] of v.secrets.entries()) {
          const r = run(s, file, secret, v.timestamp);
          expect(r.status, `${s.name} ${v.name} #${i}: ${r.stderr}`).toBe(0);
          expect(r.out, `${s.name} ${v.name} #${i}`).toMatchObject({ standard: true, mailersend: i === 0 });
        }
      }
    }
  });
});
