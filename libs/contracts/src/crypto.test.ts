import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { openWebhook, SecretBox, sealWebhook } from './crypto.ts';
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
  batch: { max_events: 500, window_ms: 30000 },
  timeout_ms: 10000,
  auth: { type: 'basic', username: 'u', password: 'hunter2' },
  created_at: 1,
  updated_at: 1,
  version: 1,
};

describe('SecretBox', () => {
  it('seals every secret-bearing field so the stored document holds none in clear', () => {
    const box = new SecretBox(SecretBox.generateSpec());
    const stored = sealWebhook(box, webhook);
    const text = JSON.stringify(stored);
    expect(text).not.toContain('hunter2');
    expect(text).not.toContain(webhook.secrets[0]!.value);
    expect(openWebhook(box, stored)).toEqual(webhook);
  });

  it('refuses a ciphertext moved to another webhook, a tampered one, or one under an unknown key', () => {
    const box = new SecretBox(SecretBox.generateSpec());
    const sealed = box.encrypt('s3cret', 'wh_1');
    expect(() => box.decrypt(sealed, 'wh_2')).toThrow();
    const tampered = `${sealed.slice(0, -4)}AAAA`;
    expect(() => box.decrypt(tampered, 'wh_1')).toThrow();
    expect(() => new SecretBox(SecretBox.generateSpec('k9')).decrypt(sealed, 'wh_1')).toThrow(
      /no decryption key "k1"/,
    );
  });

  it('decrypts with an older key after rotation and encrypts with the first', () => {
    const old = SecretBox.generateSpec('k1');
    const sealed = new SecretBox(old).encrypt('x', 'id');
    const rotated = new SecretBox(`${SecretBox.generateSpec('k2')},${old}`);
    expect(rotated.decrypt(sealed, 'id')).toBe('x');
    expect(rotated.encrypt('y', 'id').startsWith('k2:')).toBe(true);
  });

  it('rejects a malformed key spec without echoing it', () => {
    expect(() => new SecretBox('k1:c2hvcnQ=')).toThrow(/32 bytes/);
    expect(() => new SecretBox('nokey')).toThrow(/<id>:<base64/);
  });
});

const schemaBox = new SecretBox(SecretBox.generateSpec());
const bytes = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('stored webhook schema', () => {
  it("accepts the writer's output, with and without auth", () => {
    expect(parseStoredWebhook(bytes(sealWebhook(schemaBox, webhook))).ok).toBe(true);
    expect(parseStoredWebhook(bytes(sealWebhook(schemaBox, { ...webhook, auth: null }))).ok).toBe(true);
    const token = sealWebhook(schemaBox, { ...webhook, auth: { type: 'token', param: 'k', value: 'v' } });
    expect(parseStoredWebhook(bytes(token)).ok).toBe(true);
  });

  it('reads status_changed_at when written, and documents from before it existed without it', () => {
    const changed = sealWebhook(schemaBox, { ...webhook, status_changed_at: 1_700_000_000_123 });
    const read = parseStoredWebhook(bytes(changed));
    expect(read.ok && read.value.status_changed_at).toBe(1_700_000_000_123);
    const { status_changed_at: _, ...old } = changed;
    expect(parseStoredWebhook(bytes(old)).ok).toBe(true);
    for (const bad of ['2026-01-01', 1.5, null])
      expect(parseStoredWebhook(bytes({ ...changed, status_changed_at: bad })).ok, String(bad)).toBe(false);
  });

  it('rejects near misses, naming the field', () => {
    const good = sealWebhook(schemaBox, webhook);
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
