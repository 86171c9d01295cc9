/**
 * The DLQ and the replay ledger are not work topics: a record there that is not a dead letter (or a
 * ledger entry) is skipped, logged once with topic, partition and offset (never its contents), and the
 * tool goes on. Neither `list` nor `replay` fails on them; a ledger entry that is invalid is no proof of
 * a replay, so the dead letter it names is still replayed. Inputs: fast-check samples of bytes and JSON.
 */
import { parseDeadLetter, parseLedgerEntry, SecretBox } from '@hookpost/contracts';
import { readToEnd, replayLedgerTopic } from '@hookpost/deadletters';
import { provisionTopics } from '@hookpost/kafka';
import fc from 'fast-check';
import { describe, expect } from 'vitest';
import { batchDeadLetter } from '../support/dead-letters.ts';
import type { TestEnv } from '../support/env.ts';
import { it } from '../support/fixtures.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';
import { runDlq } from './run.ts';

let env: TestEnv;
let keys: string;
const SECRET = 'whsec_never-in-a-log';
const t0 = Date.parse('2026-01-10T10:00:00Z');

/** Bytes and JSON that `parse` refuses, each carrying SECRET so a dump of it would show. */
function invalid(n: number, parse: (b: Buffer) => { ok: boolean }, seed: number): Buffer[] {
  const any = fc.oneof(
    fc
      .uint8Array({ minLength: 1, maxLength: 40 })
      .map((b) => Buffer.concat([Buffer.from(b), Buffer.from(SECRET)])),
    fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify({ v, secret: SECRET }))),
  );
  return fc.sample(
    any.filter((b) => !parse(b).ok),
    { numRuns: n, seed },
  );
}

it.beforeAll(async ({ env: e }) => {
  env = e;
  await provisionTopics(env.admin, [...env.catalog.all(), replayLedgerTopic(env.prefix)]);
  keys = SecretBox.generateSpec();
});

describe('dlq tooling and invalid records', () => {
  it('list counts them as unreadable, replay replays the good letter despite an invalid ledger entry for it', async ({
    producer,
  }) => {
    const subs = await subscriptions(env, new SecretBox(keys));
    const w = makeWebhook({});
    await subs.writer.put(w);
    await subs.writer.close();
    const good = batchDeadLetter(w.id, t0, 2);
    const badLetters = [...invalid(12, parseDeadLetter, 5), Buffer.alloc(0)];
    const badEntries = invalid(6, parseLedgerEntry, 6);
    // Idempotent (the fixture's producer): a retried send must not store the good letter twice.
    await producer.send(env.catalog.topics.dlq.name, [
      ...badLetters.map((value) => ({ key: 'x', value })),
      { key: w.id, value: JSON.stringify(good) },
    ]);
    const ledger = replayLedgerTopic(env.prefix).name;
    await producer.send(ledger, [
      // Keyed by the good letter's id: if an invalid entry counted as a replay, it would never replay.
      ...badEntries.map((value) => ({ key: good.dlq_id, value })),
      // A well-formed entry under another key is not the good letter's either.
      {
        key: good.dlq_id,
        value: JSON.stringify({
          dlq_id: 'other',
          webhook_id: w.id,
          target: 'batches',
          replayed_at: 1,
          by: 'cli',
        }),
      },
    ]);

    const list = await runDlq(env, keys, ['list', '--json'], { LOG_LEVEL: 'warn' });
    expect(list.code, list.stderr).toBe(0);
    const doc = JSON.parse(list.stdout);
    expect(doc.total).toBe(1);
    expect(doc.unreadable).toBe(badLetters.length);
    const skipped = list.stderr.split('\n').filter((l) => l.includes('invalid record skipped'));
    expect(skipped).toHaveLength(badLetters.length);
    for (const line of skipped)
      expect(JSON.parse(line)).toMatchObject({
        topic: env.catalog.topics.dlq.name,
        partition: expect.any(Number),
        offset: expect.stringMatching(/^\d+$/),
        reason: expect.stringMatching(/^(empty|not_json|invalid)$/),
      });
    expect(list.stderr).not.toContain(SECRET);

    const replay = await runDlq(env, keys, ['replay', '--webhook', w.id], { LOG_LEVEL: 'warn' });
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/replayed 1 \(2 events\)/);
    expect(replay.stderr).not.toContain(SECRET);
    const ledgerSkips = replay.stderr
      .split('\n')
      .filter((l) => l.includes('invalid record skipped') && l.includes(ledger));
    expect(ledgerSkips).toHaveLength(badEntries.length + 1);
    const batches: string[] = [];
    await readToEnd({
      kafka: env.kafka,
      topic: env.catalog.topics.batches.name,
      groupPrefix: env.prefix,
      onMessage: (m) => void batches.push(JSON.parse(String(m.value)).batch_id),
    });
    expect(batches).toEqual([good.batch!.batch_id]);
  });
});
