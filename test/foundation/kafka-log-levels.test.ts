/**
 * A transactional worker that restarts while its previous instance's transaction is still open meets
 * CONCURRENT_TRANSACTIONS from the broker, which KafkaJS retries until the coordinator has aborted the
 * old transaction; a consumer whose session expired (a handler slower than the session timeout, a long
 * GC pause) hears "The coordinator is not aware of this member" and re-joins. Both are recovery, not
 * failure: nothing about them may be logged at error level, where an alert on error logs would fire on
 * every restart or slow batch. A handler that really fails must still log at error.
 */
import { createKafka } from '@hookpost/kafka';
import { createLogger } from '@hookpost/logger';
import { describe, expect } from 'vitest';
import { type TestEnv, uniq, waitFor } from '../support/env.ts';
import { it } from '../support/fixtures.ts';

let env: TestEnv;
it.beforeAll(({ env: e }) => {
  env = e;
});

/** A KafkaJS client whose log lines (as our logger writes them) are collected. */
function capturedKafka() {
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
  const errors = () => entries.filter((e) => e.level === 'error' || e.level === 'fatal');
  return { kafka, entries, errors };
}

describe('KafkaJS log levels against the real broker', () => {
  it('a takeover that meets CONCURRENT_TRANSACTIONS logs it below error, and the takeover commits', async ({
    opened,
  }) => {
    const { kafka, entries } = capturedKafka();
    const topic = `${env.prefix}log-levels`;
    await env.admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const transactionalId = uniq('log-levels-tx');
    const concurrent = () =>
      entries.filter((e) => e.text.includes('concurrent operation on the same transaction'));
    // Each round leaves a transaction open and takes over at once; the broker answers the new instance's
    // first requests with CONCURRENT_TRANSACTIONS until the abort completes (a few rounds make it certain).
    for (let round = 0; round < 10 && concurrent().length === 0; round++) {
      const old = opened.own(
        kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }),
        (p) => p.disconnect().catch(() => {}),
      );
      await old.connect();
      const open = await old.transaction();
      await open.send({ topic, messages: [{ value: `abandoned ${round}` }] });
      const next = opened.own(
        kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 }),
        (p) => p.disconnect(),
      );
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

  it('a consumer whose session expired re-joins, logged as a warning; a failing handler still logs an error', async ({
    opened,
  }) => {
    const { kafka, entries, errors } = capturedKafka();
    const topic = `${env.prefix}log-levels-rejoin`;
    await env.admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    const groupId = uniq('log-levels-rejoin');
    const producer = opened.own(kafka.producer(), (p) => p.disconnect());
    await producer.connect();
    // The broker's minimum session timeout (group.min.session.timeout.ms, 6 s by default).
    const consumer = opened.own(
      kafka.consumer({
        groupId,
        sessionTimeout: 6000,
        heartbeatInterval: 500,
        maxWaitTimeInMs: 100,
      }),
      (c) => c.disconnect(),
    );
    const seen: string[] = [];
    const groupMembers = async () => (await env.admin.describeGroups([groupId])).groups[0]!.members.length;
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = message.value!.toString();
        seen.push(value);
        if (value === 'fail') throw new Error('handler failed on purpose');
        // KafkaJS heartbeats only between messages: holding the first one until the broker has
        // dropped the member (its session expired) makes the next heartbeat meet UNKNOWN_MEMBER_ID.
        // Once: the re-joined member is handed the same record again (its offset was never committed).
        if (value === 'slow' && seen.filter((v) => v === 'slow').length === 1) {
          await waitFor(async () => (await groupMembers()) === 0, {
            what: 'the broker to expire the member',
            timeoutMs: 30_000,
          });
        }
      },
    });
    await producer.send({ topic, messages: [{ value: 'slow' }] });
    const rejoin = () =>
      entries.filter((e) => e.text.includes('not aware of this member, re-joining the group'));
    await waitFor(() => rejoin().length > 0, { what: 'the re-join line', timeoutMs: 30_000 });
    // It recovered: back in the group, and it consumes what comes next.
    await producer.send({ topic, messages: [{ value: 'after' }] });
    await waitFor(() => seen.includes('after'), {
      what: 'the message after the re-join',
      timeoutMs: 30_000,
    });
    await waitFor(async () => (await groupMembers()) === 1, { what: 'the member back', timeoutMs: 30_000 });
    for (const e of rejoin()) expect(e.level, e.text).toBe('warn');
    expect(errors().map((e) => e.text)).toEqual([]);

    // A genuine failure in the same consumer is still an error.
    await producer.send({ topic, messages: [{ value: 'fail' }] });
    await waitFor(() => errors().some((e) => e.text.includes('handler failed on purpose')), {
      what: 'the failing handler logged at error',
      timeoutMs: 30_000,
    });
  }, 90_000);
});
