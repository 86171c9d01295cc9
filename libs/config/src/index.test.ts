import { describe, expect, it } from 'vitest';
import { brokerList, ConfigError, commonSchema, loadConfig } from './index.ts';

const schema = {
  ...commonSchema,
  secretKey: {
    doc: 'a secret',
    format: (v: unknown) => {
      if (String(v).length < 8) throw new Error('too short');
    },
    default: 'x'.repeat(8),
    env: 'SECRET_KEY',
    sensitive: true,
  },
};

describe('loadConfig', () => {
  it('uses the local stack when nothing is set', () => {
    const c = loadConfig(schema, { env: {} });
    expect(c.kafka.brokers).toBe('127.0.0.1:19092');
    expect(c.registry.url).toMatch(/\/apis\/ccompat\/v7$/);
  });

  it('reads env vars', () => {
    const c = loadConfig(schema, { env: { KAFKA_BROKERS: 'a:1,b:2', LOG_LEVEL: 'debug' } });
    expect(brokerList(c.kafka.brokers)).toEqual(['a:1', 'b:2']);
    expect(c.log.level).toBe('debug');
  });

  it('names the key and the env var of a bad value', () => {
    expect(() => loadConfig(schema, { env: { KAFKA_BROKERS: 'nonsense' } })).toThrow(ConfigError);
    expect(() => loadConfig(schema, { env: { KAFKA_BROKERS: 'nonsense' } })).toThrow(
      /kafka\.brokers.*KAFKA_BROKERS/,
    );
    expect(() => loadConfig(schema, { env: { HTTP_PORT: '70000' } })).toThrow(/http\.port.*HTTP_PORT/);
  });

  it('never repeats the value of a sensitive key', () => {
    try {
      loadConfig(schema, { env: { SECRET_KEY: 'hunter' } });
      expect.unreachable();
    } catch (error) {
      expect((error as Error).message).toMatch(/secretKey/);
      expect((error as Error).message).not.toContain('hunter');
    }
  });

  it('rejects keys the schema does not know', () => {
    expect(() => loadConfig(schema, { overrides: { kafka: { nope: 1 } } })).toThrow(/nope/);
  });
});
