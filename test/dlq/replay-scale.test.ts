/**
 * Replay at scale (issue 10): thousands of dead letters over several webhooks and ledger partitions,
 * replayed from the CLI exactly once, a second run replaying nothing. The chunk size in the code is 100,
 * so the ranges below sit at, just past and far past it.
 */
import { type DeadLetter, SecretBox, type Webhook } from '@hookpost/contracts';
import { readToEnd } from '@hookpost/deadletters';
import { provisionTopics } from '@hookpost/kafka';
import { describe, expect } from 'vitest';
import { batchDeadLetter } from '../support/dead-letters.ts';
import type { TestEnv } from '../support/env.ts';
import { integrationTest } from '../support/fixtures.ts';
import { makeWebhook, subscriptions } from '../support/webhooks.ts';
import { runDlq } from './run.ts';

const it = integrationTest({ partitions: 3 });
const N = Number(process.env.HP_REPLAY_SCALE ?? 10_000);
const t0 = Date.parse('2026-02-01T00:00:00Z');
let env: TestEnv;
let keys: string;
const hooks: Webhook[] = [];

const dlq = (args: string[]) => runDlq(env, keys, args);

/** batch_id -> how many times it is on the topic. */
async function tally(topic: string): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  await readToEnd({
    kafka: env.kafka,
    topic,
    groupPrefix: env.prefix,
    timeoutMs: 120_000,
    onMessage: (m) => {
      const id = JSON.parse(String(m.value)).batch_id as string;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    },
  });
  return seen;
}

// Sizes per webhook: at the chunk size, just past it, and the rest far past it.
const sizes = () => [100, 101, 1, N - 202];
const letters: DeadLetter[][] = [];

// The dead letters go through the fixtures' idempotent producer: the test counts every batch exactly
// once, which a retried plain send could break with a duplicate letter.
it.beforeAll(async ({ env: e, producer, owned }) => {
  env = e;
  await provisionTopics(env.admin, env.catalog.all());
  keys = SecretBox.generateSpec();
  const subs = await subscriptions(env, new SecretBox(keys));
  owned.own(subs.writer, (w) => w.close());
  for (const _ of sizes()) {
    const hook = makeWebhook({ url: 'http://127.0.0.1:9/unused' });
    hooks.push(hook);
    await subs.writer.put(hook);
  }
  let at = t0;
  for (const [i, n] of sizes().entries()) {
    const list = Array.from({ length: n }, (_, k) => batchDeadLetter(hooks[i]!.id, at + k));
    at += n;
    letters.push(list);
    for (let j = 0; j < list.length; j += 1_000)
      await producer.send(
        env.catalog.topics.dlq.name,
        list.slice(j, j + 1_000).map((l) => ({ key: l.webhook_id, value: JSON.stringify(l) })),
      );
  }
}, 120_000);

describe('dlq replay at scale', () => {
  it(`replays ${N} dead letters of several webhooks exactly once; a second run replays nothing`, async () => {
    const batches = env.catalog.topics.batches.name;
    // At and just past the chunk size, one webhook at a time.
    for (const i of [0, 1, 2]) {
      // The 101 go at 250/s: chunks of 50 (rate / 5), so the last chunk holds one.
      const r = await dlq(['replay', '--webhook', hooks[i]!.id, ...(i === 1 ? ['--rate', '250/s'] : [])]);
      expect(r.code, r.stderr).toBe(0);
      if (i === 1) expect(r.stderr.match(/\] \d+\/101 /g)).toEqual(['] 50/101 ', '] 100/101 ', '] 101/101 ']);
      const n = sizes()[i]!;
      const noun = n === 1 ? ['dead letter', 'event'] : ['dead letters', 'events'];
      expect(r.stdout).toContain(`${n} ${noun[0]} matched; replayed ${n} (${n} ${noun[1]})`);
    }
    // Then everything: the three done are skipped, the rest replayed.
    const started = Date.now();
    const all = await dlq(['replay', '--from', new Date(t0).toISOString()]);
    const ms = Date.now() - started;
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toContain(
      `${N} dead letters matched; replayed ${N - 202} (${N - 202} events); skipped already replayed: 202`,
    );
    console.log(`replayed ${N - 202} dead letters in ${ms} ms (${(((N - 202) / ms) * 1000).toFixed(0)}/s)`);

    const seen = await tally(batches);
    expect(seen.size).toBe(N);
    for (const l of letters.flat()) expect(seen.get(l.batch!.batch_id), l.dlq_id).toBe(1);

    const again = await dlq(['replay']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(
      `${N} dead letters matched; replayed 0 (0 events); skipped already replayed: ${N}`,
    );
    const after = await tally(batches);
    expect([...after.values()].every((c) => c === 1) && after.size === N).toBe(true);
  }, 240_000);
});
