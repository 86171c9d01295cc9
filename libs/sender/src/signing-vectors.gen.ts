/**
 * Writes signing-vectors.json: golden cases for signing.test.ts. Run once, commit the output, and rerun
 * only to add cases (`npm run vectors -w @hookpost/sender`, which also formats it); the output is
 * deterministic.
 *
 * Deliberately does not import signing.ts: expected values come straight from node:crypto following
 * the two specifications, so the test compares the code against an independent computation.
 */
import { createHash, createHmac } from 'node:crypto';
import { writeFileSync } from 'node:fs';

/** Deterministic "random" secret bytes, so regenerating the file changes nothing. */
function secret(label: string, bytes: number): string {
  const material = createHash('sha512').update(label).digest();
  return `whsec_${Buffer.concat([material, material]).subarray(0, bytes).toString('base64')}`;
}

interface Case {
  name: string;
  secrets: string[];
  id: string;
  timestamp: number;
  body: string;
}

const events = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    type: 'activity.delivered',
    domain_id: 'dom_1',
    created_at: '2025-01-01T00:00:00.000000Z',
    data: { email: { id: `em_${i}`, recipient: { email: `user${i}@example.com` } } },
  }));

const cases: Case[] = [
  {
    // Published in the Standard Webhooks / svix test suites; pins this file to an outside source.
    name: 'standard webhooks reference vector (24-byte secret)',
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: 1614265330,
    body: '{"test": 2432232314}',
  },
  {
    name: 'json array batch, 32-byte secret',
    secrets: [secret('thirty-two', 32)],
    id: 'bat_01JD3Y9Q4ZK8M2V6W7X8Y9Z0AB',
    timestamp: 1735689600,
    body: JSON.stringify(events(2)),
  },
  {
    name: 'unicode body (accents, CJK, emoji, escaped and raw)',
    secrets: [secret('unicode', 32)],
    id: 'bat_unicode',
    timestamp: 1735689601,
    body: JSON.stringify([{ subject: 'Grüße, café — 你好 🚀📬', raw: 'ü' }]).replace('ü', '\\u00fc'),
  },
  {
    name: 'empty array body',
    secrets: [secret('empty', 32)],
    id: 'bat_empty',
    timestamp: 1735689602,
    body: '[]',
  },
  {
    name: 'JSON Lines body with trailing newline',
    secrets: [secret('jsonl', 32)],
    id: 'bat_jsonl',
    timestamp: 1735689603,
    body: `${events(3)
      .map((e) => JSON.stringify(e))
      .join('\n')}\n`,
  },
  {
    name: 'rotation: two secrets, newest first',
    secrets: [secret('rotation-new', 32), secret('rotation-old', 32)],
    id: 'bat_rotation',
    timestamp: 1735689604,
    body: JSON.stringify(events(1)),
  },
  {
    name: 'shortest secret (24 bytes)',
    secrets: [secret('twenty-four', 24)],
    id: 'bat_24',
    timestamp: 1735689605,
    body: JSON.stringify(events(1)),
  },
  {
    name: 'longest secret (64 bytes)',
    secrets: [secret('sixty-four', 64)],
    id: 'bat_64',
    timestamp: 1735689606,
    body: JSON.stringify(events(1)),
  },
  {
    name: 'empty body, three secrets',
    secrets: [secret('three-a', 40), secret('three-b', 24), secret('three-c', 64)],
    id: 'bat_three',
    timestamp: 0,
    body: '',
  },
];

const vectors = cases.map((c) => ({
  ...c,
  expected: {
    // MailerSend: hash_hmac('sha256', $body, $secret) with the secret string as given.
    Signature: createHmac('sha256', c.secrets[0]!).update(c.body, 'utf8').digest('hex'),
    'webhook-id': c.id,
    'webhook-timestamp': String(c.timestamp),
    'webhook-signature': c.secrets
      .map((s) => {
        const key = Buffer.from(s.slice('whsec_'.length), 'base64');
        const mac = createHmac('sha256', key).update(`${c.id}.${c.timestamp}.${c.body}`, 'utf8');
        return `v1,${mac.digest('base64')}`;
      })
      .join(' '),
  },
}));

const out = new URL('./signing-vectors.json', import.meta.url);
writeFileSync(out, `${JSON.stringify(vectors, null, 2)}\n`);
console.log(`wrote ${vectors.length} vectors to ${out.pathname}`);
