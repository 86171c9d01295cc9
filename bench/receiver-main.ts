/**
 * The benchmark's receiver process (forked by bench/receiver.ts). Unlike the test receiver of
 * @hookpost/sender it keeps no request bodies: per phase, one byte per possible (event, webhook) pair
 * (to count distinct pairs and duplicates) and one latency sample per distinct pair, so a million
 * events fit in a few tens of MB.
 *
 * Paths are `/<phase>/<behaviour>/<domain number>/<slot>`. Every request's two signatures are
 * verified with the webhook's secret before it is answered, as a real receiver would, except for the
 * `raw` behaviour: the peer system of bench/peer.ts POSTs one unsigned Kafka record per request, and
 * the record's headers `x-bench-index` and `x-bench-created` (forwarded as HTTP headers) name its event. The answer is
 * sent after counting; the arrival time is when the body was fully read.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifySignatures } from '@hookpost/sender';
import { domainId, parseEventId, subscribes, typeIndex } from './layout.ts';
import type { PhaseSetup, PhaseStats } from './receiver.ts';

interface Phase {
  setup: PhaseSetup;
  counts: Uint8Array;
  latencies: Float64Array;
  samples: number;
  stats: PhaseStats;
  /** Injected failures per batch (webhook-id header), so a batch fails at most maxFailures times. */
  failures: Map<string, number>;
}

const phases = new Map<string, Phase>();
const sockets = new Set<Socket>();

function phaseFor(setup: PhaseSetup): Phase {
  return {
    setup,
    counts: new Uint8Array(setup.events * setup.perDomain),
    // At most three pairs per event (the layout's fan-out is 1–3).
    latencies: new Float64Array(setup.events * 3),
    samples: 0,
    failures: new Map(),
    stats: {
      pairs: 0,
      duplicates: 0,
      unexpected: 0,
      badSignatures: 0,
      batches: 0,
      injectedFailures: 0,
      hung: 0,
      firstArrival: 0,
      lastArrival: 0,
    },
  };
}

interface Envelope {
  type: string;
  domain_id: string;
  created_at: string;
  data: { id: string };
}

function payloads(body: string, jsonl: boolean): Envelope[] {
  if (!jsonl) return JSON.parse(body) as Envelope[];
  const out: Envelope[] = [];
  for (const line of body.split('\n')) if (line.trim() !== '') out.push(JSON.parse(line) as Envelope);
  return out;
}

/** Counts the pairs of one delivered body; returns false when the body is unreadable. */
function record(p: Phase, d: number, s: number, body: string, jsonl: boolean, at: number): boolean {
  let items: Envelope[];
  try {
    items = payloads(body, jsonl);
  } catch {
    return false;
  }
  const k = p.setup.perDomain;
  const domain = domainId(p.setup.phase, d);
  for (const e of items) {
    const id = parseEventId(e.data?.id ?? '');
    const t = typeIndex(e.type);
    if (!id || id.phase !== p.setup.phase || id.index >= p.setup.events || t < 0 || e.domain_id !== domain) {
      p.stats.unexpected++;
      continue;
    }
    if (!subscribes(t, s, k)) {
      p.stats.unexpected++;
      continue;
    }
    const cell = id.index * k + s;
    const seen = p.counts[cell]!;
    if (seen > 0) {
      p.stats.duplicates++;
      if (seen < 255) p.counts[cell] = seen + 1;
      continue;
    }
    p.counts[cell] = 1;
    p.stats.pairs++;
    if (p.samples < p.latencies.length) p.latencies[p.samples++] = at - Date.parse(e.created_at);
  }
  return true;
}

/** One pair per request, named by the forwarded record headers (the peer's body is the raw record). */
function recordRaw(p: Phase, s: number, headers: import('node:http').IncomingHttpHeaders, at: number): void {
  const index = Number(headers['x-bench-index']);
  if (!Number.isInteger(index) || index < 0 || index >= p.setup.events || s >= p.setup.perDomain) {
    p.stats.unexpected++;
    return;
  }
  const cell = index * p.setup.perDomain + s;
  if (p.counts[cell]! > 0) {
    p.stats.duplicates++;
    return;
  }
  p.counts[cell] = 1;
  p.stats.pairs++;
  p.stats.batches++;
  p.stats.firstArrival ||= at;
  p.stats.lastArrival = at;
  if (p.samples < p.latencies.length) p.latencies[p.samples++] = at - Number(headers['x-bench-created']);
}

function handler(req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const at = Date.now();
    const [phaseName, behaviour, dText, sText] = (req.url ?? '/').split('?')[0]!.split('/').filter(Boolean);
    const p = phases.get(phaseName ?? '');
    const d = Number(dText);
    const s = Number(sText);
    if (!p || !Number.isInteger(d) || !Number.isInteger(s)) {
      res.writeHead(404).end();
      return;
    }
    if (behaviour === 'hang') {
      p.stats.hung++;
      return; // never answered; the socket is destroyed when the receiver closes
    }
    if (behaviour === 'raw') {
      recordRaw(p, s, req.headers, at);
      res.writeHead(200).end('ok');
      return;
    }
    const batchId = String(req.headers['webhook-id'] ?? '');
    if (behaviour === 'flaky' && Math.random() < p.setup.failRate) {
      const n = p.failures.get(batchId) ?? 0;
      if (n < p.setup.maxFailures) {
        p.failures.set(batchId, n + 1);
        p.stats.injectedFailures++;
        res.writeHead(500).end('injected failure');
        return;
      }
    }
    const body = Buffer.concat(chunks);
    const secret = p.setup.secrets[`${d}/${s}`];
    if (!secret || !verifySignatures(req.headers, body, [secret])) {
      p.stats.badSignatures++;
      res.writeHead(401).end('bad signature');
      return;
    }
    const jsonl = String(req.headers['content-type'] ?? '').startsWith('application/x-ndjson');
    if (!record(p, d, s, body.toString('utf8'), jsonl, at)) {
      p.stats.unexpected++;
      res.writeHead(400).end('unreadable body');
      return;
    }
    p.stats.batches++;
    p.stats.firstArrival ||= at;
    p.stats.lastArrival = at;
    res.writeHead(200).end('ok');
  });
}

async function listen(): Promise<{ server: Server; port: number }> {
  const server = createServer({ keepAliveTimeout: 60_000 }, handler);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}

const origins = Number(process.argv[2] ?? 20);
const healthy = await Promise.all(Array.from({ length: origins }, listen));
// One origin per hanging webhook, as distinct customers have distinct origins: sharing one would
// make them queue behind each other in the delivery's per-origin limit, an artefact of the bench.
const hanging = await Promise.all(Array.from({ length: Number(process.argv[3] ?? 100) }, listen));
const servers = [...healthy, ...hanging].map((h) => h.server);

process.on('message', (m: { id: number; op: string; arg: unknown }) => {
  let value: unknown;
  if (m.op === 'setup') {
    const setup = m.arg as PhaseSetup;
    phases.set(setup.phase, phaseFor(setup));
  } else if (m.op === 'stats') {
    value = phases.get(m.arg as string)?.stats;
  } else if (m.op === 'latencies') {
    const p = phases.get(m.arg as string);
    value = p ? Float64Array.from(p.latencies.subarray(0, p.samples)) : new Float64Array(0);
  }
  process.send?.({ id: m.id, value });
});

function close(): void {
  for (const s of sockets) s.destroy();
  for (const server of servers) server.close();
  process.exit(0);
}
process.on('SIGTERM', close);
process.on('SIGINT', () => {}); // the parent decides when to stop (it sends SIGTERM)
process.on('disconnect', close);

process.send?.({ ready: { ports: healthy.map((h) => h.port), hangPorts: hanging.map((h) => h.port) } });
