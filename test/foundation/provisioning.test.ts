import { ConfigResourceTypes, provisionTopics } from '@hookpost/kafka';

import { describe, expect } from 'vitest';
import { type TestEnv, waitFor } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';

const it = integrationTest({ retryTiers: ['10s', '100s'] });
let env: TestEnv;
it.beforeAll(({ env: e }) => {
  env = e;
});

async function configOf(topic: string, key: string) {
  const r = await env.admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [key] }],
  });
  return r.resources[0]?.configEntries.find((e) => e.configName === key)?.configValue;
}

describe('topic provisioning', () => {
  it('creates the whole catalog once, then changes nothing on a second run', async () => {
    const specs = env.catalog.all();
    const first = await provisionTopics(env.admin, specs);
    expect(first.created.sort()).toEqual(specs.map((s) => s.name).sort());
    expect(specs.map((s) => s.name)).toContain(`${env.prefix}webhooks.retry.100s`);
    const second = await provisionTopics(env.admin, specs);
    expect(second).toEqual({ created: [], updated: [], unchanged: specs.map((s) => s.name) });
    expect(await configOf(env.catalog.topics.subscriptions.name, 'cleanup.policy')).toBe('compact');
    expect(await configOf(env.catalog.topics.attempts.name, 'retention.ms')).toBe(
      String(7 * 24 * 3600 * 1000),
    );
  });

  it('reconciles a drifted config and raises a partition count, never lowering one', async () => {
    const spec = { ...env.catalog.topics.dispatch };
    await provisionTopics(env.admin, [spec]);
    const changed = {
      ...spec,
      partitions: spec.partitions + 2,
      config: { ...spec.config, 'retention.ms': '3600000' },
    };
    expect((await provisionTopics(env.admin, [changed])).updated).toEqual([spec.name]);
    // KRaft applies a config change through its metadata log: readable a moment after alterConfigs returns.
    await waitFor(async () => (await configOf(spec.name, 'retention.ms')) === '3600000', {
      what: 'the new retention',
    });
    const meta = await env.admin.fetchTopicMetadata({ topics: [spec.name] });
    expect(meta.topics[0]?.partitions).toHaveLength(spec.partitions + 2);
    // Asking for fewer partitions than exist leaves them alone.
    expect((await provisionTopics(env.admin, [{ ...changed, partitions: 1 }])).unchanged).toEqual([
      spec.name,
    ]);
  });
});

describe('the provisioning job', () => {
  it('creates the catalog and registers the schema, and a second run changes nothing', async () => {
    const { execFileSync } = await import('node:child_process');
    const run = () =>
      execFileSync(process.execPath, ['services/provision/src/main.ts'], {
        env: {
          ...process.env,
          TOPIC_PREFIX: `${env.prefix}job.`,
          TOPIC_PARTITIONS: '2',
          RETRY_TIERS: '1s,2s',
          LOG_LEVEL: 'error',
        },
        encoding: 'utf8',
      });
    expect(run()).toMatch(/topics created 11, updated 0, unchanged 0; schema .*email\.events-value id \d+/);
    expect(run()).toMatch(/topics created 0, updated 0, unchanged 11;/);
  });
});
