// Verifying a hookpost webhook in Node.js with node:crypto only (no dependency).
// Run: node verify.mjs <request.json> <secret> [now-seconds]   (request.json: {"headers":{…},"body_base64":"…"})
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const TOLERANCE_SEC = 5 * 60; // reject requests whose webhook-timestamp is further than this from now

function safeEqual(a, b) {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Standard Webhooks: HMAC-SHA256 over `${id}.${timestamp}.${rawBody}`, key = base64-decoded part after whsec_. */
export function verifyStandard(rawBody, headers, secret, nowSec = Math.floor(Date.now() / 1000)) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (!id || !timestamp || !signatures) return { ok: false, reason: 'missing webhook-* headers' };
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSec - Number(timestamp)) > TOLERANCE_SEC)
    return { ok: false, reason: 'timestamp outside the tolerance (replay?)' };
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(rawBody).digest('base64');
  // During a secret rotation there is one `v1,<sig>` entry per active secret, space separated: accept any.
  const match = signatures.split(' ').some((entry) => {
    const [version, sig] = entry.split(',');
    return version === 'v1' && sig !== undefined && safeEqual(sig, expected);
  });
  return match ? { ok: true } : { ok: false, reason: 'no matching signature' };
}

/** MailerSend: `Signature` = hex HMAC-SHA256 of the raw body, key = the whole secret string (whsec_ included). */
export function verifyMailerSend(rawBody, headers, secret) {
  const expected = createHmac('sha256', secret).update(rawBody).digest('hex');
  return safeEqual(headers.signature ?? '', expected)
    ? { ok: true }
    : { ok: false, reason: 'signature mismatch' };
}

/** The body is always a batch: a JSON array, or JSON Lines (one object per line) when the webhook asks for it. */
export function parseItems(rawBody, contentType) {
  const text = rawBody.toString('utf8');
  if (contentType.startsWith('application/x-ndjson'))
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line));
  return JSON.parse(text);
}

/** The per-event dedupe key: data.id for activity.* events, data.event_id for the other types. */
export const eventId = (item) => (item.type.startsWith('activity.') ? item.data.id : item.data.event_id);

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const [file, secret, now] = process.argv.slice(2);
  const request = JSON.parse(readFileSync(file, 'utf8'));
  const body = Buffer.from(request.body_base64, 'base64'); // the raw bytes, never a re-serialised object
  const headers = Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const standard = verifyStandard(body, headers, secret, now ? Number(now) : undefined);
  const mailerSend = verifyMailerSend(body, headers, secret);
  // (The golden signing vectors have no Content-Type and are not batches: verify only.)
  const items = standard.ok && headers['content-type'] ? parseItems(body, headers['content-type']) : [];
  console.log(
    JSON.stringify({
      standard: standard.ok,
      mailersend: mailerSend.ok,
      batch_id: headers['webhook-id'],
      event_ids: items.map(eventId),
    }),
  );
  process.exit(standard.ok ? 0 : 1);
}
