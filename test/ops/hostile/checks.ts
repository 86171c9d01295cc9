/** The per-run checks of the hostile-records test that read the broker and the services' /metrics. */
import { replayLedgerTopic } from '@hookpost/deadletters';
import { expect } from 'vitest';
import type { TestEnv } from '../../support/env.ts';
import { waitFor } from '../../support/env.ts';
import { metricsText, type RunningProcess } from '../../support/services.ts';
import { lagOf, sampleSum, type TopicTail } from './observe.ts';

/** Every committing consumer group of the product has consumed every record of its topic. */
export async function lagsAreZero(c: { env: TestEnv; tail: TopicTail; tiers: string[] }, i: number) {
  const { env, tail } = c;
  const t = env.catalog.topics;
  const p = env.prefix;
  const groups: [string, string][] = [
    [`${p}hookpost-fanout`, t.events.name],
    [`${p}hookpost-batcher`, t.dispatch.name],
    [`${p}hookpost-delivery`, t.batches.name],
    ...c.tiers.map(
      (x) => [`${p}hookpost-delivery-retry-${x}`, env.catalog.retryTopic(x)] as [string, string],
    ),
    [`${p}hookpost-suspender`, t.dlq.name],
  ];
  for (const [group, topic] of groups)
    await waitFor(async () => (await lagOf(env, tail, group, topic)) === 0, {
      timeoutMs: 90_000,
      what: `run ${i}: lag 0 of ${group} on ${topic}`,
    });
}

/**
 * Bad records on the other topics are counted where they are read: webhooks_records_skipped_total by
 * topic (the suspender and the API's resend read the DLQ, the API's history the attempts, its resend
 * the ledger), every subscription table's webhooks_subscription_records_total, and each tier's
 * webhooks_delivery_due_header_invalid_total for the x-due-at values no tier can honour.
 */
export async function skipsCounted(
  c: { env: TestEnv; procs: Map<string, RunningProcess>; counts: Record<string, number>; tiers: string[] },
  i: number,
) {
  const t = c.env.catalog.topics;
  const ledger = replayLedgerTopic(c.env.prefix).name;
  const counts = c.counts;
  const sample = async () => {
    const m = Object.fromEntries(
      await Promise.all([...c.procs].map(async ([k, p]) => [k, await metricsText(p)])),
    );
    const skipped = (svc: string, topic: string) =>
      sampleSum(m[svc], 'webhooks_records_skipped_total', {
        topic: new RegExp(`^${topic.replaceAll('.', '\\.')}$`),
      });
    return {
      dlqBySuspender: skipped('delivery', t.dlq.name) >= counts[t.dlq.name]!,
      dlqByApi: skipped('api', t.dlq.name) >= counts[t.dlq.name]!,
      attempts: skipped('api', t.attempts.name) >= counts[t.attempts.name]!,
      ledger: skipped('api', ledger) >= counts[ledger]!,
      ...Object.fromEntries(
        ['fanout', 'batcher', 'delivery', 'api'].map((s) => [
          `subscriptions:${s}`,
          sampleSum(m[s], 'webhooks_subscription_records_total', { result: /^(invalid|undecryptable)$/ }) >=
            counts[t.subscriptions.name]!,
        ]),
      ),
      ...Object.fromEntries(
        c.tiers.map((x) => [
          `due:${x}`,
          sampleSum(m.delivery, 'webhooks_delivery_due_header_invalid_total', {
            tier: new RegExp(`^${x}$`),
          }) >= counts[`due:${x}`]!,
        ]),
      ),
    };
  };
  // The API's history and DLQ index and each service's subscription table read on their own, behind no
  // group whose lag was awaited: poll until every reader has counted every bad record (a snapshot raced
  // records still in flight), then report what is short.
  let got = await sample();
  await waitFor(
    async () => {
      got = await sample();
      return Object.values(got).every(Boolean);
    },
    { timeoutMs: 60_000, what: `run ${i}: skipped records counted` },
  ).catch(() => {});
  expect(got, `run ${i}: skipped records counted`).toEqual(
    Object.fromEntries(Object.keys(got).map((k) => [k, true])),
  );
}

export const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const b64 = (b: Buffer | string | null) => (b === null ? null : Buffer.from(b).toString('base64'));
/** What identifies a record in a poison dead letter: its topic, key bytes and value bytes. */
export const fp = (topic: string, key: Buffer | string | null, value: Buffer | null) =>
  `${topic}|${b64(key)}|${b64(value)}`;

/** Throws when some expected record has no poison dead letter with its exact bytes and an error. */
export function poisonCovered(tail: TopicTail, expected: string[]): true {
  const found = new Map<string, number>();
  for (const l of tail.letters) {
    const k = `${l.source!.topic}|${l.source!.key_b64}|${l.source!.value_b64}`;
    if (l.error) found.set(k, (found.get(k) ?? 0) + 1);
  }
  const need = new Map<string, number>();
  for (const k of expected) need.set(k, (need.get(k) ?? 0) + 1);
  const missing = [...need].filter(([k, m]) => (found.get(k) ?? 0) < m);
  if (missing.length > 0)
    throw new Error(`${missing.length} bad records without a poison dead letter, e.g. ${missing[0]![0]}`);
  return true;
}

/** Throws when a service process has exited. */
export function allAlive(procs: Map<string, RunningProcess>): true {
  for (const [name, p] of procs)
    if (p.child.exitCode !== null || p.child.signalCode !== null)
      throw new Error(
        `${name} exited (${p.child.exitCode ?? p.child.signalCode}): ${p.output().slice(-3000)}`,
      );
  return true;
}

let apiBase: string | undefined;
/** The API process's URL, from its log line (kept: the output buffer drops old lines). */
export function apiUrl(api: RunningProcess): string {
  if (apiBase) return apiBase;
  const m = /"port":(\d+)[^\n]*management API listening/.exec(api.output());
  if (!m) throw new Error('API port not logged yet');
  apiBase = `http://127.0.0.1:${m[1]}`;
  return apiBase;
}

export async function apiCall(
  api: RunningProcess,
  token: string,
  method: string,
  path: string,
  body?: unknown,
) {
  const res = await fetch(`${apiUrl(api)}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // biome-ignore lint/suspicious/noExplicitAny: the test reads responses loosely
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}
