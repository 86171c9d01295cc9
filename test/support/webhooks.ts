import { randomBytes } from 'node:crypto';
import { SecretBox, type Webhook } from '@hookpost/contracts';
import { createLogger } from '@hookpost/logger';
import { SubscriptionTable, SubscriptionWriter } from '@hookpost/subscriptions';
import type { TestEnv } from './env.ts';
import { uniq } from './env.ts';

/** A valid webhook with a fresh `whsec_` secret; override what the test is about. */
export function makeWebhook(overrides: Partial<Webhook> = {}): Webhook {
  const now = Date.now();
  return {
    id: uniq('wh'),
    account_id: 'acct-1',
    domain_id: 'dom-0',
    name: 'test webhook',
    url: 'http://127.0.0.1:9/hook',
    events: ['activity.delivered'],
    enabled: true,
    status: 'active',
    status_reason: null,
    secrets: [{ value: `whsec_${randomBytes(32).toString('base64')}`, created_at: now, expires_at: null }],
    format: 'json',
    batch: { max_events: 500, window_ms: 30_000 },
    timeout_ms: 10_000,
    auth: null,
    created_at: now,
    updated_at: now,
    version: 1,
    ...overrides,
  };
}

/** A writer and a caught-up table over the test's subscriptions topic. */
export async function subscriptions(env: TestEnv, box = new SecretBox(SecretBox.generateSpec())) {
  const topic = env.catalog.topics.subscriptions.name;
  const writer = new SubscriptionWriter({ kafka: env.kafka, topic, box });
  await writer.connect();
  const logger = createLogger({ name: 'test', level: process.env.LOG_LEVEL ?? 'error' });
  const openTable = async () => {
    const table = new SubscriptionTable({ kafka: env.kafka, topic, box, logger, groupPrefix: env.prefix });
    await table.start();
    return table;
  };
  return { topic, box, writer, openTable };
}
