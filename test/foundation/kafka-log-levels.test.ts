/**
 * A transactional worker that restarts while its previous instance's transaction is still open meets
 * CONCURRENT_TRANSACTIONS from the broker, which KafkaJS retries until the coordinator has aborted the
 * old transaction. That is recovery, not failure: nothing about it may be logged at error level, where
 * an alert on error logs would fire on every restart.
 */
import { createKafka } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv, testEnv, uniq } from '../support/env.ts';

let env: TestEnv;
beforeAll(async () => {
  env = await testEnv();
});
afterAll(async () => {
  await env.close();
});

describe('KafkaJS log levels against the real broker', () => {
  it('a takeover that meets CONCURRENT_TRANSACTIONS logs it below error, and the takeover commits', async () => {
    const entries: { level: string; text: string }[] = [];
    const logger = createLogger({
      name: 'log-levels',
      level: 'debug',
      destination: {
        write: (line: string) => {
          const parsed = JSON.parse(line) as { level: string };
          entries.push({ level: parsed.level, text: line });
          return true;
        },
      },
    });
    const kafka = createKafka({ brokers: env.brokers.split(','), clientId: uniq('log-levels'), logger });
    const topic = `${env.prefix}log-levels`;
    await env.admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const transactionalId = uniq('log-levels-tx');
    const concurrent = () =>
      entries.filter((e) => e.text.includes('concurrent operation on the same transaction'));
    // Each round leaves a transaction open and takes over at once; the broker answers the new instance's
    // first requests with CONCURRENT_TRANSACTIONS until the abort completes (a few rounds make it certain).
    for (let round = 0; round < 10 && concurrent().length === 0; round++) {
      const old = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await old.connect();
      const open = await old.transaction();
      await open.send({ topic, messages: [{ value: `abandoned ${round}` }] });
      const next = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
      await next.connect();
      const tx = await next.transaction();
      await tx.send({ topic, messages: [{ value: `taken over ${round}` }] });
      await tx.commit();
      await next.disconnect();
      await old.disconnect().catch(() => {});
    }
    expect(concurrent().length, 'the broker answered CONCURRENT_TRANSACTIONS at least once').toBeGreaterThan(
      0,
    );
    for (const e of concurrent()) expect(['error', 'fatal'], e.text).not.toContain(e.level);
  }, 60_000);
});
