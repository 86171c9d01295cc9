import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ApiConfig, apiSchema, hashToken, type RunningApi, startApi } from '@hookpost/api';
import { loadConfig } from '@hookpost/config';
import { SecretBox, type Webhook } from '@hookpost/contracts';
import { suspend } from '@hookpost/delivery';
import { createLogger, type Logger } from '@hookpost/logger';
import { createRegistry } from '@hookpost/metrics';
import { type Receiver, startReceiver } from '@hookpost/sender';
import { SubscriptionTable, SubscriptionWriter } from '@hookpost/subscriptions';
import { expect } from 'vitest';
import { type TestEnv, testEnv, uniq, waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';

export const TOKENS = {
  backend: 'tok-backend-0123456789',
  reader: 'tok-reader-0123456789',
  scoped: 'tok-scoped-0123456789',
} as const;

export const SCOPED_DOMAIN = 'dom-scoped';

function tokenConfig(): string {
  return JSON.stringify([
    { name: 'backend', sha256: hashToken(TOKENS.backend), domains: ['*'], access: 'read-write' },
    { name: 'reader', sha256: hashToken(TOKENS.reader), domains: ['*'], access: 'read' },
    { name: 'scoped', sha256: hashToken(TOKENS.scoped), domains: [SCOPED_DOMAIN], access: 'read-write' },
  ]);
}

export interface TestApiOptions {
  dataDir?: string;
  now?: () => number;
  logger?: Logger;
  encryptionKeys?: string;
  overrides?: Record<string, unknown>;
}

/** Starts the API in-process through its start function, on port 0, over the test's topics. */
export async function startTestApi(env: TestEnv, options: TestApiOptions = {}) {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hookpost-api-'));
  const encryptionKeys = options.encryptionKeys ?? SecretBox.generateSpec();
  const config = loadConfig<ApiConfig>(apiSchema as never, {
    overrides: {
      kafka: { brokers: env.brokers },
      topics: { prefix: env.prefix, partitions: 3 },
      http: { port: 0 },
      api: { port: 0, host: '127.0.0.1', tokens: tokenConfig(), dataDir, bodyLimitBytes: 16_384 },
      ssrf: { allowLoopback: true },
      subscriptions: { encryptionKeys },
      ...options.overrides,
    },
  });
  const controller = new AbortController();
  const api: RunningApi = await startApi(
    {
      name: 'api',
      config,
      logger: options.logger ?? createLogger({ name: 'api', level: process.env.LOG_LEVEL ?? 'error' }),
      metrics: createRegistry(),
      kafka: env.kafka,
      admin: env.admin,
      signal: controller.signal,
    },
    { now: options.now },
  );
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    token: string | null = TOKENS.backend,
    raw?: { body: string; type?: string },
  ) => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    let payload: string | undefined;
    if (raw) {
      payload = raw.body;
      headers['content-type'] = raw.type ?? 'application/json';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(`${api.url}${path}`, { method, headers, body: payload });
    const text = await res.text();
    // biome-ignore lint/suspicious/noExplicitAny: tests inspect responses loosely
    let json: any;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return { status: res.status, body: json, headers: res.headers };
  };
  return {
    api,
    config,
    dataDir,
    encryptionKeys,
    call,
    stop: async () => {
      controller.abort();
      await api.stop?.();
    },
    cleanup: () => rmSync(dataDir, { recursive: true, force: true }),
  };
}

/**
 * The API tests' fixtures: those of test/support/fixtures.ts (`env`, `receiver`, `producer`, …), `api`,
 * the API started over the file's env on first use, stopped and its data dir removed after the file's
 * last test, and `create()`, which creates a webhook named `webhook.name` to the receiver's /ok in a
 * fresh domain named after `webhook.domain`.
 */
export function apiTest(options: TestApiOptions & { webhook?: { name: string; domain: string } } = {}) {
  const { webhook = { name: 'test', domain: 'dom' }, ...apiOptions } = options;
  return integrationTest()
    .extend('api', { scope: 'file' }, async ({ env }, { onCleanup }) => {
      const api = await startTestApi(env, apiOptions);
      onCleanup(async () => {
        await api.stop();
        api.cleanup();
      });
      return api;
    })
    .extend('create', { scope: 'file' }, ({ api, receiver }) => async () => {
      const res = await api.call('POST', '/v1/webhooks', {
        url: `${receiver.url}/ok`,
        name: webhook.name,
        events: ['activity.delivered'],
        domain_id: uniq(webhook.domain),
      });
      expect(res.status).toBe(201);
      return res.body.data as { id: string; domain_id: string };
    });
}

/**
 * A test env, a receiver for webhook URLs and an API over the env's topics; `close` stops all three.
 * Kept for callers outside this branch; new tests use `apiTest`, whose fixtures close themselves.
 * @public
 */
export async function startApiWithReceiver(options: TestApiOptions = {}) {
  const env = await testEnv();
  const receiver: Receiver = await startReceiver();
  const api = await startTestApi(env, options);
  return {
    env,
    receiver,
    api,
    close: async () => {
      await api.stop();
      api.cleanup();
      await receiver.close();
      await env.close();
    },
  };
}

/**
 * What delivery's suspender does, without delivery: writes the webhook's suspended document to the
 * subscriptions topic, then waits until the API shows it.
 */
export async function suspendLikeDelivery(
  env: TestEnv,
  api: Awaited<ReturnType<typeof startTestApi>>,
  id: string,
  reason = 'exhausted',
  /** Write it as documents from before status_changed_at existed were written. */
  legacy = false,
): Promise<Webhook> {
  const box = new SecretBox(api.encryptionKeys);
  const writer = new SubscriptionWriter({
    kafka: env.kafka,
    topic: env.catalog.topics.subscriptions.name,
    box,
  });
  await writer.connect();
  const table = new SubscriptionTable({
    kafka: env.kafka,
    topic: env.catalog.topics.subscriptions.name,
    box,
    logger: env.logger,
    groupPrefix: env.prefix,
  });
  await table.start();
  const current = table.get(id)!;
  const next = suspend(current, reason, Date.now());
  if (legacy) delete next.status_changed_at;
  await writer.put(next);
  await table.stop();
  await writer.close();
  await waitFor(async () => (await api.call('GET', `/v1/webhooks/${id}`)).body.data.status === 'suspended');
  return next;
}
