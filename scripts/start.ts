/**
 * `npm start`: the whole product on the local stack with demo traffic, for a newcomer's first minutes.
 *
 * 1. Starts Kafka and the registry (unless KAFKA_BROKERS is given) and provisions topics and schemas.
 * 2. Runs every service as its own child process, as production runs them (one process per role,
 *    roles chosen by config): batcher (reading the events itself, the default: no fan-out), delivery
 *    (main + suspender), delivery (retry tiers), API.
 * 3. Starts a demo receiver and creates three webhooks through the API: one JSON, one JSON Lines, and one
 *    whose endpoint always fails, so it walks the retry tiers and ends suspended.
 * 4. Starts the demo MTA producer, and prints as it happens: batches arriving (size, webhook, signature
 *    verified), retries by tier, the suspension.
 * Ctrl-C (or SIGTERM) stops the services gracefully, then the stack if this command started it; also when
 * the output is piped (`npm start | tee log`: Ctrl-C kills tee first, and writing to the dead pipe must
 * not end this process before its children).
 * Every server it starts listens on 127.0.0.1 only (services' ops ports, the API, the demo receiver):
 * the demo has a well-known token and loopback delivery allowed, so it must not be reachable from the
 * network. Ports: DEMO_API_PORT, DEMO_RECEIVER_PORT, DEMO_OPS_PORT (first of six consecutive ops ports);
 * DEMO_DATA_DIR (.data/demo) holds the demo's token, encryption key and API data.
 * Demo settings are short on purpose (5 s batch window, 2s/5s/10s retry tiers); production defaults are
 * 30 s and a schedule that spans about a day.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { type AttemptRecord, type OperationalNotice, SecretBox } from '@hookpost/contracts';
import { createKafka, readTopics, topicCatalog } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { startReceiver, verifySignatures } from '@hookpost/sender';
import { SERVICE_ENV, serviceNodeArgs } from '@hookpost/service';

const root = new URL('..', import.meta.url).pathname;
const stack = `${root}scripts/stack.sh`;
const started = Date.now();
const say = (line: string) =>
  console.log(`${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s  ${line}`);

const API_PORT = Number(process.env.DEMO_API_PORT ?? 8090);
const RECEIVER_PORT = Number(process.env.DEMO_RECEIVER_PORT ?? 9480);
const OPS_PORT = Number(process.env.DEMO_OPS_PORT ?? 9470);
const ops = (i: number) => String(OPS_PORT + i);
const HOST = '127.0.0.1';

// Ctrl-C on `npm start | tee log` ends tee too; console.log would then raise EPIPE and crash this
// process before it stopped its children and the stack. Output to a dead pipe is dropped instead.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
const TIERS = '2s,5s,10s';

interface Role {
  name: string;
  entry: string;
  env: Record<string, string>;
}

// --- 1. the stack --------------------------------------------------------------------------------

let startedStack = false;
if (!process.env.KAFKA_BROKERS) {
  startedStack = spawnSync('bash', [stack, 'status'], { stdio: 'ignore' }).status !== 0;
  if (startedStack) execFileSync('bash', [stack, 'start'], { stdio: 'inherit' });
  for (const line of execFileSync('bash', [stack, 'env'], { encoding: 'utf8' }).trim().split('\n')) {
    const [k, v] = line.split('=', 2) as [string, string];
    process.env[k] ??= v;
  }
}

// The encryption key and the API token are kept with the demo's data, so webhooks created by an
// earlier run (still in the compacted topic) stay readable.
const dataDir = resolve(root, process.env.DEMO_DATA_DIR ?? '.data/demo');
mkdirSync(dataDir, { recursive: true });
const secretsFile = `${dataDir}/secrets.json`;
if (!existsSync(secretsFile)) {
  writeFileSync(
    secretsFile,
    JSON.stringify({
      encryptionKeys: SecretBox.generateSpec(),
      apiToken: randomBytes(24).toString('base64url'),
    }),
    { mode: 0o600 },
  );
}
const { encryptionKeys, apiToken } = JSON.parse(readFileSync(secretsFile, 'utf8')) as {
  encryptionKeys: string;
  apiToken: string;
};

const common: Record<string, string> = {
  // The story is printed by this script; services log only errors unless LOG_LEVEL says otherwise.
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  HTTP_HOST: HOST,
  SUBSCRIPTION_ENCRYPTION_KEYS: encryptionKeys,
  RETRY_TIERS: TIERS,
  DELIVERY_JITTER: '0',
};

const provision = spawnSync(process.execPath, ['services/provision/src/main.ts'], {
  cwd: root,
  env: { ...process.env, ...common },
  encoding: 'utf8',
});
if (provision.status !== 0) {
  console.error(provision.stderr || provision.stdout);
  await stopStack();
  process.exit(1);
}
say(provision.stdout.trim());

// --- 2. the services -----------------------------------------------------------------------------

const roles: Role[] = [
  // ops(1) was the fan-out's: the batcher reads email.events itself (BATCHER_INPUT=events, its default).
  {
    name: 'batcher',
    entry: 'services/batcher/src/main.ts',
    env: { HTTP_PORT: ops(2), BATCH_WINDOW_MS: '5000' },
  },
  {
    name: 'delivery',
    entry: 'services/delivery/src/main.ts',
    env: { HTTP_PORT: ops(3), DELIVERY_ROLES: 'main,suspender', SSRF_ALLOW_LOOPBACK: 'true' },
  },
  {
    name: 'delivery-retry',
    entry: 'services/delivery/src/main.ts',
    env: { HTTP_PORT: ops(4), DELIVERY_ROLES: 'retry', SSRF_ALLOW_LOOPBACK: 'true' },
  },
  {
    name: 'api',
    entry: 'services/api/src/main.ts',
    env: {
      HTTP_PORT: ops(5),
      API_PORT: String(API_PORT),
      API_HOST: HOST,
      API_DATA_DIR: `${dataDir}/api`,
      SSRF_ALLOW_LOOPBACK: 'true',
      API_TOKENS: JSON.stringify([
        {
          name: 'demo',
          sha256: createHash('sha256').update(apiToken).digest('hex'),
          domains: ['*'],
          access: 'read-write',
        },
      ]),
    },
  },
];
const producer: Role = {
  name: 'demo',
  entry: 'services/demo/src/main.ts',
  env: { HTTP_PORT: ops(0), DEMO_RATE: '20', DEMO_DOMAINS: '3', DEMO_REPORT_EVERY_MS: '15000' },
};

const children = new Map<string, ChildProcess>();
let stopping = false;
let exitCode = 0;

function run(role: Role): void {
  const child = spawn(process.execPath, [...serviceNodeArgs(role.entry), role.entry], {
    cwd: root,
    env: { ...process.env, ...SERVICE_ENV, ...common, ...role.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.set(role.name, child);
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => console.log(`        [${role.name}] ${line}`));
  }
  child.on('exit', (code, signal) => {
    children.delete(role.name);
    if (!stopping) {
      console.error(`[${role.name}] exited (${signal ?? code}); stopping everything`);
      void shutdown(code || 1);
    } else if (children.size === 0) {
      void finish();
    }
  });
}

async function ready(port: number, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`a service on ops port ${port} did not become ready`);
}

for (const role of roles) run(role);
try {
  await Promise.all(roles.map((r) => ready(Number(r.env.HTTP_PORT))));
} catch (error) {
  console.error(`start: ${(error as Error).message}`);
  await shutdown(1);
}
// While the demo runs, where it is: the dlq CLI run from another shell without KAFKA_BROKERS reads its
// broker from here (the demo may be on other ports, HP_KAFKA_PORT…). Removed when the demo stops.
const endpointsFile = `${dataDir}/endpoints.json`;
writeFileSync(
  endpointsFile,
  JSON.stringify({
    kafkaBrokers: process.env.KAFKA_BROKERS,
    schemaRegistryUrl: process.env.SCHEMA_REGISTRY_URL,
    apiUrl: `http://127.0.0.1:${API_PORT}`,
  }),
);
say(
  `services ready: ${roles.map((r) => r.name).join(', ')} (API on http://127.0.0.1:${API_PORT}, token in ${secretsFile.replace(root, '')})`,
);
// The demo's own token, made for this data dir and good on loopback only: printed so that a newcomer can
// open the console at once (the console keeps it in the tab, never in a URL).
say(`console on http://127.0.0.1:${API_PORT}/console — sign in with the demo token ${apiToken}`);
say('  then show domain dom-0, dom-1 or dom-2; Overview shows lag, suspended webhooks and dead letters');

// --- 3. receiver and webhooks --------------------------------------------------------------------

const receiver = await startReceiver({ port: RECEIVER_PORT });
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${API_PORT}${path}`, {
    method,
    headers: { authorization: `Bearer ${apiToken}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
  return text ? (JSON.parse(text) as { data: Record<string, unknown> }) : undefined;
};

const demoWebhooks = [
  {
    name: 'orders (JSON)',
    domain_id: 'dom-0',
    url: `${receiver.url}/ok/json`,
    format: 'json',
    events: ['activity.sent', 'activity.delivered', 'activity.opened', 'activity.clicked'],
  },
  {
    name: 'analytics (JSON Lines)',
    domain_id: 'dom-1',
    url: `${receiver.url}/ok/jsonl`,
    format: 'jsonl',
    events: [
      'activity.delivered',
      'activity.opened',
      'activity.clicked',
      'activity.hard_bounced',
      'activity.soft_bounced',
    ],
  },
  {
    name: 'always failing',
    domain_id: 'dom-2',
    url: `${receiver.url}/status/500/failing`,
    format: 'json',
    events: ['activity.delivered', 'activity.hard_bounced'],
  },
];
const byId = new Map<string, { name: string; secrets: string[] }>();
const names = new Map<string, string>();
for (const w of demoWebhooks) {
  // Webhooks of an earlier demo run are still in the compacted topic; start from a clean slate.
  const existing = await api('GET', `/v1/webhooks?domain_id=${w.domain_id}&limit=100`);
  for (const old of (existing?.data ?? []) as unknown as { id: string }[])
    await api('DELETE', `/v1/webhooks/${old.id}`);
  const created = (await api('POST', '/v1/webhooks', {
    ...w,
    enabled: true,
    batch: { max_events: 500, window_seconds: 5 },
  }))!.data;
  const secret = String(created.secret);
  byId.set(String(created.id), { name: w.name, secrets: [secret] });
  names.set(String(created.id), w.name);
  say(`created webhook "${w.name}" ${created.id} on ${w.domain_id} → ${w.url} (${w.format})`);
}

// --- 4. traffic and what happens to it ------------------------------------------------------------

let seen = 0;
const receiverTick = setInterval(() => {
  for (; seen < receiver.requests.length; seen++) {
    const r = receiver.requests[seen]!;
    // Which webhook a request is for comes from the payload (`webhook_id` on every item), as a real
    // receiver with several webhooks on one URL would find it, not from the URL path; its secret then
    // verifies the request (docs/receiving.md).
    const webhookId = webhookIdOf(r.body, r.headers['content-type']);
    const hook = webhookId === undefined ? undefined : byId.get(webhookId);
    const verified = hook ? verifySignatures(r.headers, Buffer.from(r.body), hook.secrets) : false;
    const outcome = r.status !== null && r.status < 300 ? 'delivered' : `answered ${r.status}`;
    say(
      `${outcome.padEnd(12)} batch of ${String(r.events ?? '?').padStart(3)} events → "${hook?.name ?? r.path}" ` +
        `(${r.headers['content-type']}) signature ${verified ? 'verified' : 'NOT verified'}, webhook-id ${r.headers['webhook-id']}`,
    );
  }
}, 250);

/** The one `webhook_id` all items of a batch share; undefined for an unreadable or mixed body. */
function webhookIdOf(body: string, contentType: string | undefined): string | undefined {
  try {
    const items = (
      contentType?.startsWith('application/x-ndjson')
        ? body
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l))
        : JSON.parse(body)
    ) as { webhook_id?: unknown }[];
    const ids = new Set(items.map((i) => i.webhook_id));
    const [id] = ids;
    return ids.size === 1 && typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

const catalog = topicCatalog({ retryTiers: TIERS.split(',') });
const kafka = createKafka({
  brokers: process.env.KAFKA_BROKERS!.split(','),
  clientId: 'hookpost-demo-observer',
  logger: createLogger({ name: 'demo-observer', level: 'warn' }),
});
const observer = await readTopics(kafka, {
  groupId: `hookpost-demo-observer-${process.pid}`,
  topics: [catalog.topics.attempts.name, catalog.topics.operational.name],
  fromBeginning: false,
  maxWaitTimeInMs: 200,
  eachMessage: async ({ topic, message }) => {
    const value = JSON.parse(message.value?.toString() ?? '{}');
    if (topic === catalog.topics.operational.name) {
      const n = value as OperationalNotice;
      say(`${n.type} "${names.get(n.webhook_id) ?? n.webhook_id}": ${n.reason} ${JSON.stringify(n.counts)}`);
    } else {
      const a = value as AttemptRecord;
      if (a.outcome === 'delivered') return;
      const next = a.outcome === 'retry' ? 'moved to the next retry tier' : 'dead-lettered';
      say(
        `attempt ${a.attempt} (tier ${a.tier}) to "${names.get(a.webhook_id) ?? a.webhook_id}" failed: ${a.error ?? a.status}; ${next}`,
      );
    }
  },
});

run(producer);
say('demo producer started (20 events/s over dom-0, dom-1, dom-2); Ctrl-C stops everything');

// --- shutdown ------------------------------------------------------------------------------------

async function stopStack(): Promise<void> {
  if (!startedStack) return;
  // Its output is captured, then relayed through our streams (which drop writes to a dead pipe): with
  // inherited stdio, after Ctrl-C on `npm start | tee log` stack.sh's first line went to the dead pipe
  // and SIGPIPE ended it between stopping the registry and the broker, leaving Kafka running.
  const r = spawnSync('bash', [stack, 'stop'], { encoding: 'utf8' });
  process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
}

async function finish(): Promise<void> {
  rmSync(`${dataDir}/endpoints.json`, { force: true });
  clearInterval(receiverTick);
  await observer.stop().catch(() => {});
  await receiver.close().catch(() => {});
  await stopStack();
  process.exit(exitCode);
}

async function shutdown(code = 0): Promise<void> {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  console.log('stopping services…');
  if (children.size === 0) return finish();
  for (const child of children.values()) child.kill('SIGTERM');
  // A service that ignores SIGTERM past its own bound is killed, so Ctrl-C always ends the demo.
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, 30_000).unref();
}

process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());
