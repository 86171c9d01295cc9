import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Webhook, WebhookAuth } from './webhook.ts';

/**
 * Field encryption for the subscriptions topic: AES-256-GCM, a fresh 12-byte IV per value, and the
 * webhook id as additional authenticated data so a ciphertext cannot be pasted onto another webhook.
 * Wire form: `<keyId>:<base64(iv | tag | ciphertext)>`. Several keys may be configured for rotation:
 * the first encrypts, all decrypt.
 */
export class SecretBox {
  private readonly keys: Map<string, Buffer>;
  private readonly activeId: string;

  /** `spec`: comma-separated `id:base64key` entries (32-byte keys), the first one active. */
  constructor(spec: string) {
    const entries = spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const i = entry.indexOf(':');
        if (i <= 0) throw new Error('encryption key must be "<id>:<base64 of 32 bytes>"');
        const key = Buffer.from(entry.slice(i + 1), 'base64');
        if (key.length !== 32)
          throw new Error(`encryption key "${entry.slice(0, i)}" must be 32 bytes, base64`);
        return [entry.slice(0, i), key] as const;
      });
    if (entries.length === 0) throw new Error('no encryption key configured');
    this.keys = new Map(entries);
    this.activeId = entries[0]![0];
  }

  static generateSpec(id = 'k1'): string {
    return `${id}:${randomBytes(32).toString('base64')}`;
  }

  encrypt(plain: string, aad: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.activeId)!, iv);
    cipher.setAAD(Buffer.from(aad));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${this.activeId}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  /** Throws when the key is unknown or the value was tampered with; never echoes the value. */
  decrypt(sealed: string, aad: string): string {
    const i = sealed.indexOf(':');
    const key = this.keys.get(sealed.slice(0, i));
    if (i <= 0 || !key) throw new Error(`no decryption key "${sealed.slice(0, Math.max(0, i))}"`);
    const raw = Buffer.from(sealed.slice(i + 1), 'base64');
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(Buffer.from(aad));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
  }
}

/** The document as stored in the topic: same shape, secret-bearing fields sealed. */
export type StoredWebhook = Omit<Webhook, 'secrets' | 'auth'> & {
  secrets: { sealed: string; created_at: number; expires_at: number | null }[];
  auth:
    | { type: 'basic'; username: string; sealed_password: string }
    | { type: 'token'; param: string; sealed_value: string }
    | null;
};

export function sealWebhook(box: SecretBox, w: Webhook): StoredWebhook {
  let auth: StoredWebhook['auth'] = null;
  if (w.auth?.type === 'basic')
    auth = { type: 'basic', username: w.auth.username, sealed_password: box.encrypt(w.auth.password, w.id) };
  if (w.auth?.type === 'token')
    auth = { type: 'token', param: w.auth.param, sealed_value: box.encrypt(w.auth.value, w.id) };
  return {
    ...w,
    secrets: w.secrets.map((s) => ({
      sealed: box.encrypt(s.value, w.id),
      created_at: s.created_at,
      expires_at: s.expires_at,
    })),
    auth,
  };
}

export function openWebhook(box: SecretBox, s: StoredWebhook): Webhook {
  let auth: WebhookAuth | null = null;
  if (s.auth?.type === 'basic')
    auth = { type: 'basic', username: s.auth.username, password: box.decrypt(s.auth.sealed_password, s.id) };
  if (s.auth?.type === 'token')
    auth = { type: 'token', param: s.auth.param, value: box.decrypt(s.auth.sealed_value, s.id) };
  return {
    ...s,
    secrets: s.secrets.map((x) => ({
      value: box.decrypt(x.sealed, s.id),
      created_at: x.created_at,
      expires_at: x.expires_at,
    })),
    auth,
  };
}
