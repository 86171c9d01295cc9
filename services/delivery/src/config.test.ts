import { ConfigError, loadConfig } from '@hookpost/config';
import { SecretBox } from '@hookpost/contracts';
import { describe, expect, it } from 'vitest';
import { type DeliveryConfig, rolesOf, schema, tiersOf } from './config.ts';
import { tierFetchWaitMs } from './service.ts';

const keys = SecretBox.generateSpec();

describe('delivery config', () => {
  it('defaults to every role and the day-long tiers', () => {
    const c = loadConfig<DeliveryConfig>(schema, { env: { SUBSCRIPTION_ENCRYPTION_KEYS: keys } });
    const tiers = tiersOf(c.delivery.tiers);
    expect(tiers.map((t) => t.name)).toEqual(['10s', '100s', '5m', '30m', '2h', '5h', '10h']);
    expect(rolesOf(c.delivery.roles, tiers)).toMatchObject({ main: true, suspender: true });
    expect(rolesOf(c.delivery.roles, tiers).tiers).toHaveLength(7);
    expect(c.ssrf).toEqual({ allowLoopback: false, allowPrivate: false, allowCidrs: '' });
  });

  it('runs only the roles and tiers it is given', () => {
    const tiers = tiersOf('200ms,500ms,1s');
    expect(rolesOf('500ms,suspender', tiers)).toEqual({ main: false, suspender: true, tiers: [tiers[1]] });
  });

  it('refuses bad values naming the key and env var, never echoing the encryption key', () => {
    const bad = () =>
      loadConfig<DeliveryConfig>(schema, {
        env: {
          SUBSCRIPTION_ENCRYPTION_KEYS: 'k1:not-a-key',
          RETRY_TIERS: '5m,1m',
          DELIVERY_ROLES: 'main,bogus',
        },
      });
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (error) {
      const m = (error as Error).message;
      expect(m).toContain('RETRY_TIERS');
      expect(m).toContain('DELIVERY_ROLES');
      expect(m).toContain('SUBSCRIPTION_ENCRYPTION_KEYS');
      expect(m).not.toContain('not-a-key');
    }
  });
});

describe('retry tier fetch wait', () => {
  it('is a tenth of the delay, never below the configured wait nor above 1 s', () => {
    const cases: [number, number, number][] = [
      [0, 100, 100],
      [999, 100, 100],
      [1_000, 100, 100],
      [5_000, 100, 500],
      [10_000, 100, 1_000],
      [10_001, 100, 1_000],
      [86_400_000, 100, 1_000],
      [86_400_000, 2_000, 2_000],
    ];
    for (const [delay, base, wait] of cases) expect(tierFetchWaitMs(delay, base)).toBe(wait);
  });
});
