import { activeSecrets } from '@hookpost/contracts';
import { describe, expect, it } from 'vitest';
import { checkInput, createWebhook, present, rotateSecret, updateWebhook } from './webhook-doc.ts';

const base = createWebhook(
  {
    url: 'https://example.com/h',
    name: ' orders ',
    events: ['activity.sent', 'activity.sent'],
    domain_id: 'd1',
    auth: { type: 'basic', username: 'u', password: 'pw' },
  },
  { id: 'wh1', secret: 'whsec_old' },
  1_000,
);

describe('webhook documents', () => {
  it('creates with defaults, trimmed name, unique events, version 1', () => {
    expect(base).toMatchObject({
      name: 'orders',
      events: ['activity.sent'],
      enabled: true,
      status: 'active',
      format: 'json',
      batch: { max_events: 500, window_ms: 30_000 },
      timeout_ms: 10_000,
      account_id: 'd1',
      version: 1,
    });
  });

  it('updates only what was sent; auth null removes it; the version grows', () => {
    const next = updateWebhook(base, { name: 'x', batch: { window_seconds: 5 } }, 2_000);
    expect(next).toMatchObject({
      name: 'x',
      url: base.url,
      batch: { max_events: 500, window_ms: 5_000 },
      version: 2,
    });
    expect(next.auth).toEqual(base.auth);
    expect(updateWebhook(base, { auth: null }, 2_000).auth).toBeNull();
  });

  it('rotation: the old secret signs beside the new until the grace ends, then only the new one', () => {
    const rotated = rotateSecret(base, 'whsec_new', 1_000, 500);
    expect(activeSecrets(rotated, 1_499)).toEqual(['whsec_new', 'whsec_old']);
    expect(activeSecrets(rotated, 1_500)).toEqual(['whsec_new']);
    const twice = rotateSecret(rotated, 'whsec_newer', 1_600, 500);
    expect(twice.secrets.map((s) => s.value)).toEqual(['whsec_newer', 'whsec_new']);
  });

  it('presents the signing secret but never the auth password', () => {
    const shown = present(base, 1_000);
    expect(shown.secret).toBe('whsec_old');
    expect(JSON.stringify(shown)).not.toContain('"pw"');
    expect(shown.auth).toEqual({ type: 'basic', username: 'u' });
  });

  it('checks what the schema cannot: blank names, incomplete auth', () => {
    expect(checkInput({ name: '  ' })).toHaveProperty('name');
    expect(checkInput({ auth: { type: 'basic', username: 'u' } })).toHaveProperty(['auth.password']);
    expect(checkInput({ auth: { type: 'token', param: 'p', value: 'v' } })).toEqual({});
  });
});
