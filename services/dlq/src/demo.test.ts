import { describe, expect, it } from 'vitest';
import { demoBrokers, demoKeys } from './demo.ts';

const fsWith = (files: Record<string, string>) => ({
  exists: (p: string) => p in files,
  read: (p: string) => files[p]!,
});

describe('the demo key fallback', () => {
  it('uses the demo file only when the environment has no key', () => {
    const fs = fsWith({ '/d/secrets.json': JSON.stringify({ encryptionKeys: 'k1:abc', apiToken: 't' }) });
    expect(demoKeys({}, '/d/secrets.json', fs)).toEqual({ keys: 'k1:abc', file: '/d/secrets.json' });
    expect(demoKeys({ SUBSCRIPTION_ENCRYPTION_KEYS: 'mine' }, '/d/secrets.json', fs)).toBeNull();
    expect(demoKeys({}, '/elsewhere.json', fs)).toBeNull();
  });

  it('ignores a file that is not the demo secrets document', () => {
    for (const text of ['not json', '{}', '{"encryptionKeys": 3}', '{"encryptionKeys": ""}', 'null'])
      expect(demoKeys({}, '/d/s.json', fsWith({ '/d/s.json': text })), text).toBeNull();
  });

  it("takes the running demo's broker only when the environment names none", () => {
    const fs = fsWith({ '/d/endpoints.json': JSON.stringify({ kafkaBrokers: '127.0.0.1:29592' }) });
    expect(demoBrokers({}, '/d/endpoints.json', fs)).toEqual({
      brokers: '127.0.0.1:29592',
      file: '/d/endpoints.json',
    });
    expect(demoBrokers({ KAFKA_BROKERS: 'kafka:9092' }, '/d/endpoints.json', fs)).toBeNull();
    expect(demoBrokers({}, '/d/gone.json', fs)).toBeNull();
    for (const text of ['not json', '{}', '{"kafkaBrokers": 3}', '{"kafkaBrokers": ""}', 'null'])
      expect(demoBrokers({}, '/d/e.json', fsWith({ '/d/e.json': text })), text).toBeNull();
  });
});
