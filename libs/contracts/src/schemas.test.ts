import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SecretBox, sealWebhook } from './crypto.ts';
import { parseStoredWebhook } from './schemas.ts';
import type { Webhook } from './webhook.ts';

const webhook: Webhook = {
  id: 'wh_1',
  account_id: 'a',
  domain_id: 'd',
  name: 'n',
  url: 'https://example.com/h',
  events: ['activity.sent'],
  enabled: true,
  status: 'active',
  status_reason: null,
  secrets: [{ value: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0', created_at: 1, expires_at: null }],
  format: 'json',
  batch: { max_events: 100, window_ms: 30_000 },
  timeout_ms: 10_000,
  auth: { type: 'basic', username: 'u', password: 'p' },
  created_at: 1,
  updated_at: 2,
  version: 1,
};
const box = new SecretBox(SecretBox.generateSpec());
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('stored webhook schema', () => {
  it("accepts the writer's output, with and without auth", () => {
    expect(parseStoredWebhook(bytes(sealWebhook(box, webhook))).ok).toBe(true);
    expect(parseStoredWebhook(bytes(sealWebhook(box, { ...webhook, auth: null }))).ok).toBe(true);
    const token = sealWebhook(box, { ...webhook, auth: { type: 'token', param: 'k', value: 'v' } });
    expect(parseStoredWebhook(bytes(token)).ok).toBe(true);
  });

  it('rejects near misses, naming the field', () => {
    const good = sealWebhook(box, webhook);
    const r = parseStoredWebhook(bytes({ ...good, events: { 0: 'activity.delivered' } }));
    expect(r).toEqual({ ok: false, error: '/events must be array' });
    for (const bad of [
      { ...good, events: [1] },
      { ...good, secrets: {} },
      { ...good, batch: null },
      { ...good, auth: { type: 'basic' } },
      { ...good, version: '1' },
      { ...good, status: 'gone' },
      [good],
    ])
      expect(parseStoredWebhook(bytes(bad)).ok).toBe(false);
    const { url: _url, ...missing } = good;
    expect(parseStoredWebhook(bytes(missing)).ok).toBe(false);
  });

  it('never throws on arbitrary bytes or JSON', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array().map((b) => Buffer.from(b)),
          fc.json().map((j) => Buffer.from(j)),
        ),
        (b) => {
          const r = parseStoredWebhook(b);
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});
