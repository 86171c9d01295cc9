import type { EventType } from '@hookpost/events';

type WebhookStatus = 'active' | 'suspended';
export type PayloadFormat = 'json' | 'jsonl';

/** Limits that bound what a subscription may ask for. */
export const LIMITS = {
  maxEventsPerBatch: 500,
  minWindowMs: 1_000,
  maxWindowMs: 300_000,
  defaultWindowMs: 30_000,
  defaultTimeoutMs: 10_000,
  minTimeoutMs: 1_000,
  maxTimeoutMs: 30_000,
  nameMax: 191,
  /** `rate_limit.per_second`: one request every 10 s at the least, 1 000 per second at the most. */
  minRatePerSecond: 0.1,
  maxRatePerSecond: 1000,
  secretGraceMs: 24 * 60 * 60 * 1000,
} as const;

/** A JSON match document (see filter.ts); stored as the client sent it, validated by `compileFilter`. */
export type WebhookFilter = Record<string, unknown>;

export interface SigningSecret {
  /** `whsec_` + base64 of 24–64 random bytes (Standard Webhooks form). */
  value: string;
  created_at: number;
  /** Set on the old secret during a rotation: it signs beside the new one until then. */
  expires_at: number | null;
}

export type WebhookAuth =
  | { type: 'basic'; username: string; password: string }
  | { type: 'token'; param: string; value: string };

/**
 * A webhook subscription as services hold it in memory (secrets in clear). In the subscriptions topic
 * the secret values, the basic-auth password and the token are encrypted (see crypto.ts).
 */
export interface Webhook {
  id: string;
  account_id: string;
  domain_id: string;
  name: string;
  url: string;
  events: EventType[];
  enabled: boolean;
  status: WebhookStatus;
  /** Why it is suspended (exhausted, gone, …); null when active. */
  status_reason: string | null;
  /**
   * When `status` last changed (suspended, resumed; creation for a new webhook). Absent in documents
   * written before the field existed: readers fall back to `updated_at`, and the next change writes it.
   */
  status_changed_at?: number;
  secrets: SigningSecret[];
  format: PayloadFormat;
  batch: { max_events: number; window_ms: number };
  timeout_ms: number;
  auth: WebhookAuth | null;
  /**
   * Content filter (filter.ts, docs/filters.md): only events it matches are dispatched. Absent or null:
   * every event of the subscribed types. Absent in documents written before the field existed.
   */
  filter?: WebhookFilter | null;
  /**
   * Requests (batches) per second at most, per delivery consumer (docs/receiving.md). Absent or null:
   * no limit of its own (the per-origin limit still applies). Absent in documents written before it.
   */
  rate_limit?: { per_second: number } | null;
  created_at: number;
  updated_at: number;
  /** Incremented on every write; lets readers tell a newer document from an older one. */
  version: number;
}

/** Events a batch of the webhook holds at most: its `batch.max_events` within 1–500 (500 when unset). */
export function maxEventsOf(w: Pick<Webhook, 'batch'>): number {
  return Math.min(LIMITS.maxEventsPerBatch, Math.max(1, w.batch?.max_events ?? LIMITS.maxEventsPerBatch));
}

/** The secrets that sign a request at time `now`: every secret not yet expired, newest first. */
export function activeSecrets(webhook: Pick<Webhook, 'secrets'>, now: number): string[] {
  return webhook.secrets
    .filter((s) => s.expires_at === null || s.expires_at > now)
    .sort((a, b) => b.created_at - a.created_at)
    .map((s) => s.value);
}
