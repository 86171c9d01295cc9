/** Delivery configuration: the common keys plus roles, tiers, limits, timeouts and the SSRF allow-list. */
import { type CommonConfig, commonSchema } from '@hookpost/config';
import { type SsrfConfig, ssrfSchema } from '@hookpost/sender';
import { type SubscriptionsConfig, subscriptionsSchema } from '@hookpost/subscriptions';
import { type TracingConfig, tracingSchema } from '@hookpost/tracing';
import { DEFAULT_TIERS, DELIVERY_DEFAULTS, ROLES } from './definitions.ts';
import { parseTiers, type Tier } from './domain/retry-policy.ts';

function tierSpec(value: unknown): void {
  const r = parseTiers(String(value));
  if (!r.ok) throw new Error(r.reason);
}

function csv(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function roleSpec(value: unknown): void {
  for (const role of csv(String(value)))
    if (!(ROLES as readonly string[]).includes(role) && !parseTiers(role).ok)
      throw new Error(`"${role}" is not a role (${ROLES.join(', ')}) or a tier name`);
  if (csv(String(value)).length === 0) throw new Error('at least one role is required');
}

const ratio = (value: unknown) => {
  if (typeof value !== 'number' || value < 0 || value > 1) throw new Error('must be a number from 0 to 1');
};
const positive = (value: unknown) => {
  if (!Number.isInteger(value) || (value as number) < 1) throw new Error('must be a positive integer');
};

export const schema = {
  ...commonSchema,
  subscriptions: subscriptionsSchema,
  tracing: tracingSchema,
  delivery: {
    roles: {
      doc: 'What this process runs, comma separated: main (webhooks.batches), retry (every tier), a tier name (that tier only), suspender (webhooks.dlq).',
      format: roleSpec,
      default: 'main,retry,suspender',
      env: 'DELIVERY_ROLES',
    },
    tiers: {
      doc: 'Retry tier delays in order, e.g. 10s,100s,5m; each is a topic webhooks.retry.<tier>. After the last, the DLQ.',
      format: tierSpec,
      default: DEFAULT_TIERS,
      env: 'RETRY_TIERS',
    },
    jitter: {
      doc: 'Random extra delay as a fraction of the tier delay (0.1: a 10 s tier waits 10–11 s).',
      format: ratio,
      default: DELIVERY_DEFAULTS.jitter,
      env: 'DELIVERY_JITTER',
    },
    partitionWindow: {
      doc: 'Records of one partition in flight at once; fetched records past it wait in memory (up to 16 times this, and 4 MiB of values), and reaching that pauses the partition (backpressure).',
      format: positive,
      default: DELIVERY_DEFAULTS.partitionWindow,
      env: 'DELIVERY_PARTITION_WINDOW',
    },
    maxInFlightBytes: {
      doc: "Bytes of records in flight in this process (main and tier consumers together); reaching it pauses fetching until work finishes (bounds the process's memory).",
      format: positive,
      default: DELIVERY_DEFAULTS.maxInFlightBytes,
      env: 'DELIVERY_MAX_IN_FLIGHT_BYTES',
    },
    perEndpoint: {
      doc: 'Concurrent requests to one origin (scheme, host, port) from this process; also its connection pool size.',
      format: positive,
      default: DELIVERY_DEFAULTS.perEndpoint,
      env: 'DELIVERY_PER_ENDPOINT',
    },
    connectTimeoutMs: {
      doc: 'TCP/TLS connect timeout of a request (the webhook timeout bounds the whole attempt).',
      format: positive,
      default: 10_000,
      env: 'DELIVERY_CONNECT_TIMEOUT_MS',
    },
    maxRetryAfterMs: {
      doc: 'Cap on a receiver Retry-After (429/503).',
      format: positive,
      default: 3_600_000,
      env: 'DELIVERY_MAX_RETRY_AFTER_MS',
    },
    sessionTimeoutMs: {
      doc: 'Kafka consumer session timeout. Requests in flight do not count against it (heartbeats continue).',
      format: positive,
      default: 10_000,
      env: 'DELIVERY_SESSION_TIMEOUT_MS',
    },
    heartbeatIntervalMs: {
      doc: 'Kafka consumer heartbeat interval (well below the session timeout).',
      format: positive,
      default: 3_000,
      env: 'DELIVERY_HEARTBEAT_INTERVAL_MS',
    },
    maxWaitTimeMs: {
      doc: 'Fetch wait: bounds how late a partition resumed at its due time is fetched. Retry tiers wait a tenth of their delay, between this and 1 s.',
      format: positive,
      default: DELIVERY_DEFAULTS.maxWaitTimeMs,
      env: 'DELIVERY_MAX_WAIT_MS',
    },
    breakerFailures: {
      doc: 'Consecutive failed attempts (5xx, timeout, network error) of one webhook that open its circuit: its batches then skip the HTTP attempt and go to the retry tiers as circuit_open.',
      format: positive,
      default: DELIVERY_DEFAULTS.breakerFailures,
      env: 'DELIVERY_BREAKER_FAILURES',
    },
    breakerCooldownMs: {
      doc: 'How long an open circuit skips attempts before one half-open probe is sent (success closes it, failure opens it again).',
      format: positive,
      default: DELIVERY_DEFAULTS.breakerCooldownMs,
      env: 'DELIVERY_BREAKER_COOLDOWN_MS',
    },
    slowRequestMs: {
      doc: "A request running this long (or 4x its origin's recent successful latency, when longer) frees its origin slot, up to DELIVERY_PER_ENDPOINT such requests per origin (so at most twice that in flight); a webhook with failures in a row gets no other request while it has one. 0: off.",
      format: 'nat',
      default: DELIVERY_DEFAULTS.slowRequestMs,
      env: 'DELIVERY_SLOW_REQUEST_MS',
    },
    versionWaitMs: {
      doc: "How long a record whose webhook looks suspended or disabled in this process's subscription table, but that was produced under a newer webhook version (x-webhook-version: a replay right after a resume, a retry), waits for the table to read that version before it is dead-lettered as suspended.",
      format: positive,
      default: DELIVERY_DEFAULTS.versionWaitMs,
      env: 'DELIVERY_VERSION_WAIT_MS',
    },
    commitIntervalMs: {
      doc: 'Periodic commit of finished progress (completions also commit, at most every 100 ms).',
      format: positive,
      default: DELIVERY_DEFAULTS.commitIntervalMs,
      env: 'DELIVERY_COMMIT_INTERVAL_MS',
    },
  },
  ssrf: ssrfSchema,
};

export interface DeliveryConfig extends CommonConfig {
  subscriptions: SubscriptionsConfig;
  tracing: TracingConfig;
  delivery: {
    roles: string;
    tiers: string;
    jitter: number;
    partitionWindow: number;
    maxInFlightBytes: number;
    perEndpoint: number;
    connectTimeoutMs: number;
    maxRetryAfterMs: number;
    sessionTimeoutMs: number;
    heartbeatIntervalMs: number;
    maxWaitTimeMs: number;
    commitIntervalMs: number;
    breakerFailures: number;
    breakerCooldownMs: number;
    slowRequestMs: number;
    versionWaitMs: number;
  };
  ssrf: SsrfConfig;
}

export interface RoleSet {
  main: boolean;
  suspender: boolean;
  /** Tiers whose topics this process consumes. */
  tiers: Tier[];
}

/** Which consumers to run: `retry` means every tier; a tier name only that one. */
export function rolesOf(roles: string, tiers: readonly Tier[]): RoleSet {
  const list = csv(roles);
  const all = list.includes('retry');
  return {
    main: list.includes('main'),
    suspender: list.includes('suspender'),
    tiers: tiers.filter((t) => all || list.includes(t.name)),
  };
}

export function tiersOf(spec: string): Tier[] {
  const r = parseTiers(spec);
  if (!r.ok) throw new Error(r.reason);
  return r.tiers;
}
