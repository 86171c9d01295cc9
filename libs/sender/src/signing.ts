/**
 * Request signing: pure functions, no I/O, no clock (the caller passes the attempt's timestamp).
 *
 * Two schemes on every request, so receivers can verify with whichever they already have:
 * - MailerSend: `Signature: hex(HMAC-SHA256(key = secret string, message = raw body))`. MailerSend's
 *   recipe is `hash_hmac('sha256', $body, $secret)` with the secret exactly as shown to the user, so the
 *   key is the whole string including `whsec_`, as UTF-8 bytes, and never base64-decoded.
 * - Standard Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`
 *   over `{id}.{timestamp}.{body}`, keyed with the base64-decoded part after `whsec_`.
 *
 * During a rotation several secrets are active: `webhook-signature` carries one `v1,` entry per secret,
 * space separated, newest first, and verifiers accept any; `Signature` has room for one value, so it uses
 * the newest secret (receivers that still hold the old one verify with the Standard Webhooks header).
 */
import { createHmac, createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { HEADERS, SECRET_MAX_BYTES, SECRET_MIN_BYTES, SECRET_PREFIX } from './definitions.ts';

export type ParsedSecret = { ok: true; key: Buffer } | { ok: false; reason: string };

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Checks a `whsec_` secret and returns its key bytes. Reasons never contain the secret, so they can be
 * returned to API callers and logged.
 */
export function parseSecret(secret: string): ParsedSecret {
  if (typeof secret !== 'string' || !secret.startsWith(SECRET_PREFIX))
    return { ok: false, reason: `secret must start with "${SECRET_PREFIX}"` };
  const encoded = secret.slice(SECRET_PREFIX.length);
  // Buffer.from(…, 'base64') skips what it cannot read; a round trip rejects anything it would have
  // skipped or reinterpreted, so the key is exactly what other Standard Webhooks libraries decode.
  if (encoded.length % 4 !== 0 || !BASE64.test(encoded))
    return { ok: false, reason: 'secret must be base64 (standard alphabet, padded) after the prefix' };
  const key = Buffer.from(encoded, 'base64');
  if (key.toString('base64') !== encoded)
    return { ok: false, reason: 'secret must be base64 (standard alphabet, padded) after the prefix' };
  if (key.length < SECRET_MIN_BYTES || key.length > SECRET_MAX_BYTES)
    return {
      ok: false,
      reason: `secret must decode to ${SECRET_MIN_BYTES}–${SECRET_MAX_BYTES} bytes, got ${key.length}`,
    };
  return { ok: true, key };
}

/** A fresh `whsec_` secret of `bytes` random bytes (24–64). */
export function generateSecret(bytes = 32): string {
  if (!Number.isInteger(bytes) || bytes < SECRET_MIN_BYTES || bytes > SECRET_MAX_BYTES)
    throw new RangeError(`secret length must be an integer ${SECRET_MIN_BYTES}–${SECRET_MAX_BYTES}`);
  return SECRET_PREFIX + randomBytes(bytes).toString('base64');
}

type Body = string | Uint8Array;

/** The body's bytes; only read, so a Buffer or Uint8Array is used as it is (no copy). */
function bodyBytes(body: Body): Buffer {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * HMAC keys as KeyObjects, per secret string: Node 24's createHmac turns a Buffer key into a KeyObject
 * on every call, which cost ~30 µs of the ~35 µs each signature took (two per request). Bounded; the
 * oldest entry goes first. The secrets are the subscription table's, held in memory anyway.
 */
const KEYS = new Map<string, { mailerSend: KeyObject; standard: KeyObject } | { error: string }>();
const MAX_KEYS = 10_000;

function keysOf(secret: string): { mailerSend: KeyObject; standard: KeyObject } | { error: string } {
  let keys = KEYS.get(secret);
  if (!keys) {
    const parsed = parseSecret(secret);
    keys = parsed.ok
      ? {
          mailerSend: createSecretKey(Buffer.from(secret, 'utf8')),
          standard: createSecretKey(parsed.key),
        }
      : { error: parsed.reason };
    if (KEYS.size >= MAX_KEYS) KEYS.delete(KEYS.keys().next().value!);
    KEYS.set(secret, keys);
  }
  return keys;
}

/** MailerSend `Signature`: lowercase hex HMAC-SHA256 of the body, keyed with the secret string as-is. */
function mailerSendSignature(body: Body, key: KeyObject): string {
  return createHmac('sha256', key).update(bodyBytes(body)).digest('hex');
}

/** One Standard Webhooks entry, `v1,<base64>`, for an already parsed key. */
function standardSignature(id: string, timestampSec: number, body: Body, key: KeyObject): string {
  const mac = createHmac('sha256', key)
    .update(`${id}.${timestampSec}.`, 'utf8')
    .update(bodyBytes(body))
    .digest('base64');
  return `v1,${mac}`;
}

export interface SignInput {
  /** Stable across retries (the batch id): receivers dedupe on it. */
  id: string;
  /** Integer seconds of this attempt; fresh per attempt so receivers' replay windows accept retries. */
  timestampSec: number;
  /** Exactly the bytes that go on the wire. */
  body: Body;
  /** Active secrets, newest first (see `activeSecrets` in @hookpost/contracts). */
  secrets: readonly string[];
}

export interface SignatureHeaders {
  [HEADERS.signature]: string;
  [HEADERS.webhookId]: string;
  [HEADERS.webhookTimestamp]: string;
  [HEADERS.webhookSignature]: string;
}

export type Signed = { ok: true; headers: SignatureHeaders } | { ok: false; reason: string };

/**
 * Signs one request. Not ok when there is no active secret or one of them is malformed: sending
 * unsigned or half-signed would teach receivers to accept it, so the caller must not send.
 */
export function signRequest(input: SignInput): Signed {
  const { id, timestampSec, body, secrets } = input;
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0)
    throw new RangeError('timestampSec must be a non-negative integer (seconds)');
  // The id travels as a header value and is what receivers dedupe on: printable ASCII, no spaces.
  if (id.length === 0 || /[^\x21-\x7e]/.test(id))
    return { ok: false, reason: 'id must be non-empty printable ASCII without spaces' };
  if (secrets.length === 0) return { ok: false, reason: 'no active signing secret' };
  const bytes = bodyBytes(body);
  const entries: string[] = [];
  let newest: KeyObject | undefined;
  for (const [i, secret] of secrets.entries()) {
    const keys = keysOf(secret);
    if ('error' in keys) return { ok: false, reason: `signing secret #${i + 1}: ${keys.error}` };
    newest ??= keys.mailerSend;
    entries.push(standardSignature(id, timestampSec, bytes, keys.standard));
  }
  return {
    ok: true,
    headers: {
      [HEADERS.signature]: mailerSendSignature(bytes, newest!),
      [HEADERS.webhookId]: id,
      [HEADERS.webhookTimestamp]: String(timestampSec),
      [HEADERS.webhookSignature]: entries.join(' '),
    },
  };
}
