/**
 * Pure rules of the webhook resource: building a document from a create request, applying a partial
 * update, rotating the signing secret, and the public representation. No I/O; time and ids come in.
 */
import {
  activeSecrets,
  LIMITS,
  type SigningSecret,
  type Webhook,
  type WebhookAuth,
  type WebhookFilter,
} from '@hookpost/contracts';
import type { EventType } from '@hookpost/events';
import { storedFilter } from './filter-input.ts';

interface AuthInput {
  type: 'basic' | 'token';
  username?: string;
  password?: string;
  param?: string;
  value?: string;
}

/** Fields a client may send (schema-checked before these functions see them). */
export interface WebhookInput {
  url?: string;
  name?: string;
  events?: EventType[];
  enabled?: boolean;
  domain_id?: string;
  account_id?: string;
  format?: 'json' | 'jsonl';
  batch?: { max_events?: number; window_seconds?: number };
  timeout_seconds?: number;
  auth?: AuthInput | null;
  filter?: WebhookFilter | null;
  rate_limit?: { per_second: number } | null;
}

export type FieldErrors = Record<string, string[]>;

/** Checks the rules a JSON schema cannot say: auth variants, blank strings. */
export function checkInput(input: WebhookInput): FieldErrors {
  const errors: FieldErrors = {};
  const add = (field: string, message: string) => {
    errors[field] ??= [];
    errors[field].push(message);
  };
  if (input.name !== undefined && input.name.trim() === '') add('name', 'must not be blank');
  if (input.domain_id !== undefined && input.domain_id.trim() === '') add('domain_id', 'must not be blank');
  const auth = input.auth;
  if (auth) {
    if (auth.type === 'basic') {
      if (!auth.username) add('auth.username', 'is required for basic auth');
      if (auth.password === undefined || auth.password === '')
        add('auth.password', 'is required for basic auth');
      if (auth.param !== undefined || auth.value !== undefined)
        add('auth', 'basic auth takes username and password only');
    } else {
      if (!auth.param) add('auth.param', 'is required for token auth');
      if (!auth.value) add('auth.value', 'is required for token auth');
      if (auth.username !== undefined || auth.password !== undefined)
        add('auth', 'token auth takes param and value only');
    }
  }
  return errors;
}

function toAuth(input: AuthInput | null | undefined): WebhookAuth | null {
  if (!input) return null;
  if (input.type === 'basic')
    return { type: 'basic', username: input.username ?? '', password: input.password ?? '' };
  return { type: 'token', param: input.param ?? '', value: input.value ?? '' };
}

export function createWebhook(
  input: WebhookInput,
  ids: { id: string; secret: string },
  now: number,
): Webhook {
  return {
    id: ids.id,
    account_id: input.account_id ?? input.domain_id ?? '',
    domain_id: input.domain_id ?? '',
    name: (input.name ?? '').trim(),
    url: input.url ?? '',
    events: [...new Set(input.events ?? [])],
    enabled: input.enabled ?? true,
    status: 'active',
    status_reason: null,
    status_changed_at: now,
    secrets: [{ value: ids.secret, created_at: now, expires_at: null }],
    format: input.format ?? 'json',
    batch: {
      max_events: input.batch?.max_events ?? LIMITS.maxEventsPerBatch,
      window_ms: (input.batch?.window_seconds ?? LIMITS.defaultWindowMs / 1000) * 1000,
    },
    timeout_ms: (input.timeout_seconds ?? LIMITS.defaultTimeoutMs / 1000) * 1000,
    auth: toAuth(input.auth),
    ...(storedFilter(input.filter) ? { filter: storedFilter(input.filter) } : {}),
    ...(input.rate_limit ? { rate_limit: { per_second: input.rate_limit.per_second } } : {}),
    created_at: now,
    updated_at: now,
    version: 1,
  };
}

/** A partial update: only the fields present change; `auth: null` removes authentication. */
export function updateWebhook(w: Webhook, input: WebhookInput, now: number): Webhook {
  return {
    ...w,
    name: input.name !== undefined ? input.name.trim() : w.name,
    url: input.url ?? w.url,
    events: input.events ? [...new Set(input.events)] : w.events,
    enabled: input.enabled ?? w.enabled,
    format: input.format ?? w.format,
    batch: {
      max_events: input.batch?.max_events ?? w.batch.max_events,
      window_ms:
        input.batch?.window_seconds !== undefined ? input.batch.window_seconds * 1000 : w.batch.window_ms,
    },
    timeout_ms: input.timeout_seconds !== undefined ? input.timeout_seconds * 1000 : w.timeout_ms,
    auth: input.auth !== undefined ? toAuth(input.auth) : w.auth,
    ...(input.filter !== undefined ? { filter: storedFilter(input.filter) } : {}),
    ...(input.rate_limit !== undefined
      ? { rate_limit: input.rate_limit ? { per_second: input.rate_limit.per_second } : null }
      : {}),
    updated_at: now,
    version: w.version + 1,
  };
}

/**
 * New secret first; every secret still active keeps signing until `now + graceMs` (an earlier expiry
 * stays); expired ones are dropped. The new secret is strictly newer so it orders first.
 */
export function rotateSecret(w: Webhook, secret: string, now: number, graceMs: number): Webhook {
  const until = now + graceMs;
  const kept: SigningSecret[] = w.secrets
    .filter((s) => s.expires_at === null || s.expires_at > now)
    .map((s) => ({ ...s, expires_at: s.expires_at === null ? until : Math.min(s.expires_at, until) }));
  const newest = Math.max(now, ...w.secrets.map((s) => s.created_at + 1));
  return {
    ...w,
    secrets: [{ value: secret, created_at: newest, expires_at: null }, ...kept],
    updated_at: now,
    version: w.version + 1,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The public representation; secrets of the webhook itself are returned, auth passwords never. */
export function present(w: Webhook, now: number) {
  const signing = w.secrets
    .filter((s) => s.expires_at === null || s.expires_at > now)
    .sort((a, b) => b.created_at - a.created_at);
  return {
    id: w.id,
    url: w.url,
    events: w.events,
    name: w.name,
    enabled: w.enabled,
    editable: true,
    domain_id: w.domain_id,
    account_id: w.account_id,
    secret: activeSecrets(w, now)[0] ?? null,
    secrets: signing.map((s) => ({
      secret: s.value,
      created_at: iso(s.created_at),
      expires_at: iso(s.expires_at),
    })),
    status: w.status,
    status_reason: w.status_reason,
    status_changed_at: iso(w.status_changed_at ?? null),
    format: w.format,
    batch: { max_events: w.batch.max_events, window_seconds: w.batch.window_ms / 1000 },
    timeout_seconds: w.timeout_ms / 1000,
    auth:
      w.auth === null
        ? null
        : w.auth.type === 'basic'
          ? { type: 'basic' as const, username: w.auth.username }
          : { type: 'token' as const, param: w.auth.param },
    filter: w.filter ?? null,
    rate_limit: w.rate_limit ? { per_second: w.rate_limit.per_second } : null,
    version: w.version,
    created_at: iso(w.created_at),
    updated_at: iso(w.updated_at),
  };
}
