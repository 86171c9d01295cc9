import { createHmac } from 'node:crypto';
import { activeSecrets } from '@hookpost/contracts';
import fc from 'fast-check';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { generateSecret, parseSecret, type SignatureHeaders, signRequest } from './signing.ts';
import vectors from './signing-vectors.json' with { type: 'json' };

/** MailerSend's documented PHP recipe, `hash_hmac('sha256', $body, $secret)`, in node:crypto. */
const phpHashHmac = (body: string | Buffer, secret: string) =>
  createHmac('sha256', secret).update(body).digest('hex');

function sign(input: Parameters<typeof signRequest>[0]): SignatureHeaders {
  const signed = signRequest(input);
  if (!signed.ok) throw new Error(signed.reason);
  return signed.headers;
}

/** standardwebhooks checks the timestamp against Date.now(), so verify at the vector's own time. */
function verifyAt(timestampSec: number, secret: string, body: string | Buffer, headers: SignatureHeaders) {
  vi.useFakeTimers({ now: timestampSec * 1000, toFake: ['Date'] });
  try {
    return new StandardWebhook(secret).verify(body, { ...headers }, { jsonParse: false });
  } finally {
    vi.useRealTimers();
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('golden vectors', () => {
  it('cover the cases the file promises', () => {
    const names = vectors.map((v) => v.name).join('\n');
    expect(vectors.length).toBeGreaterThanOrEqual(6);
    for (const want of ['unicode', 'empty array', 'JSON Lines', 'two secrets', '24 bytes', '64 bytes'])
      expect(names).toContain(want);
  });

  it.each(vectors)('signRequest reproduces "$name"', (v) => {
    expect(sign({ id: v.id, timestampSec: v.timestamp, body: v.body, secrets: v.secrets })).toEqual(
      v.expected,
    );
  });

  it.each(vectors)('the standardwebhooks package verifies "$name" with each active secret', (v) => {
    for (const secret of v.secrets)
      expect(() => verifyAt(v.timestamp, secret, v.body, v.expected as SignatureHeaders)).not.toThrow();
  });

  it.each(vectors)('Signature of "$name" matches the PHP recipe with the newest secret', (v) => {
    expect(v.expected.Signature).toBe(phpHashHmac(v.body, v.secrets[0]!));
  });
});

describe('signRequest', () => {
  it('signs the exact bytes: a Buffer body and its string give the same headers', () => {
    const secrets = [generateSecret()];
    const body = '[{"subject":"Grüße 🚀"}]';
    expect(sign({ id: 'b1', timestampSec: 1, body: Buffer.from(body), secrets })).toEqual(
      sign({ id: 'b1', timestampSec: 1, body, secrets }),
    );
  });

  it('during a rotation carries both signatures, newest first, and Signature uses the newest', () => {
    const oldSecret = generateSecret();
    const newSecret = generateSecret();
    const webhook = {
      secrets: [
        { value: oldSecret, created_at: 1_000, expires_at: 50_000 },
        { value: newSecret, created_at: 2_000, expires_at: null },
      ],
    };
    const body = '[]';
    const during = sign({ id: 'b1', timestampSec: 10, body, secrets: activeSecrets(webhook, 10_000) });
    const entries = during['webhook-signature'].split(' ');
    expect(entries).toHaveLength(2);
    expect(during.Signature).toBe(phpHashHmac(body, newSecret));
    expect(() =>
      verifyAt(10, newSecret, body, { ...during, 'webhook-signature': entries[0]! }),
    ).not.toThrow();
    expect(() =>
      verifyAt(10, oldSecret, body, { ...during, 'webhook-signature': entries[1]! }),
    ).not.toThrow();

    const after = sign({ id: 'b1', timestampSec: 60, body, secrets: activeSecrets(webhook, 60_000) });
    expect(after['webhook-signature'].split(' ')).toHaveLength(1);
    expect(() => verifyAt(60, oldSecret, body, after)).toThrow(/No matching signature/);
  });

  it('refuses to sign without a usable secret, without echoing the secret', () => {
    const bad = 'whsec_dG9vLXNob3J0';
    const noSecret = signRequest({ id: 'b1', timestampSec: 1, body: '[]', secrets: [] });
    const malformed = signRequest({
      id: 'b1',
      timestampSec: 1,
      body: '[]',
      secrets: [generateSecret(), bad],
    });
    expect(noSecret).toEqual({ ok: false, reason: 'no active signing secret' });
    expect(malformed.ok).toBe(false);
    expect(JSON.stringify(malformed)).toMatch(/#2: secret must decode to 24–64 bytes, got 9/);
    expect(JSON.stringify(malformed)).not.toContain('dG9vLXNob3J0');
  });

  it('refuses an id that cannot travel as a header value', () => {
    for (const id of ['', 'a b', 'a\r\nx: y', 'ü'])
      expect(signRequest({ id, timestampSec: 1, body: '[]', secrets: [generateSecret()] }).ok).toBe(false);
  });

  it('property: any body and id verify, and changing one byte of the body breaks both signatures', () => {
    const secretArb = fc
      .integer({ min: 24, max: 64 })
      .chain((n) => fc.uint8Array({ minLength: n, maxLength: n }))
      .map((bytes) => `whsec_${Buffer.from(bytes).toString('base64')}`);
    const timestampSec = 1_700_000_000;
    vi.useFakeTimers({ now: timestampSec * 1000, toFake: ['Date'] });
    const verify = (secret: string, body: string | Buffer, headers: SignatureHeaders) =>
      new StandardWebhook(secret).verify(body, { ...headers }, { jsonParse: false });
    fc.assert(
      fc.property(
        secretArb,
        fc.stringMatching(/^[A-Za-z0-9_:-]{1,64}$/),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (secret, id, body, position, flip) => {
          const headers = sign({ id, timestampSec, body, secrets: [secret] });
          verify(secret, body, headers);
          expect(headers.Signature).toBe(phpHashHmac(body, secret));

          const tampered = Buffer.from(body, 'utf8');
          const i = position % tampered.length;
          tampered[i] = tampered[i]! ^ flip;
          expect(() => verify(secret, tampered, headers)).toThrow(/No matching signature/);
          expect(phpHashHmac(tampered, secret)).not.toBe(headers.Signature);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('secrets', () => {
  it('generates secrets of 24–64 bytes that parse back', () => {
    for (const bytes of [24, 32, 64]) {
      const parsed = parseSecret(generateSecret(bytes));
      expect(parsed.ok && parsed.key.length).toBe(bytes);
    }
    expect(generateSecret()).not.toBe(generateSecret());
    expect(() => generateSecret(23)).toThrow(RangeError);
    expect(() => generateSecret(65)).toThrow(RangeError);
  });

  it.each([
    ['no prefix', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', /start with "whsec_"/],
    ['wrong prefix', 'whsek_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', /start with "whsec_"/],
    ['not base64', 'whsec_MfKQ9r8GKYqrTwjU!D8ILPZIo2LaLaSw', /base64/],
    ['url-safe alphabet', 'whsec_MfKQ9r8GKYqrTwjU_D8ILPZIo2LaLaSw', /base64/],
    ['unpadded', `whsec_${Buffer.alloc(32, 7).toString('base64').replace(/=+$/, '')}`, /base64/],
    ['23 bytes', `whsec_${Buffer.alloc(23, 7).toString('base64')}`, /got 23/],
    ['65 bytes', `whsec_${Buffer.alloc(65, 7).toString('base64')}`, /got 65/],
  ])('parseSecret rejects %s with a reason that does not echo it', (_, secret, reason) => {
    const parsed = parseSecret(secret);
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.reason).toMatch(reason);
    expect(parsed.reason).not.toContain(secret.slice(6, 20));
  });
});
