/**
 * Per-webhook circuit breaker on the real broker. A webhook whose endpoint hangs opens its circuit
 * after `breakerFailures` timeouts; from then on its batches take no origin slot (the origin allows only
 * two requests at once here, so without the breaker the hang would hold the whole origin) and go to
 * the retry tiers as `circuit_open` attempts, ending in the DLQ as `exhausted`; the healthy webhooks of
 * the same origin keep delivering and the partition's commit reaches the end. A second webhook that
 * fails twice and then recovers shows the half-open probe closing the circuit, every batch delivered.
 */
import type { AttemptRecord, DeadLetter, Webhook } from '@hookpost/contracts';
import type { DeliveryHandle } from '@hookpost/delivery';
import type { Receiver } from '@hookpost/sender';
import { describe, expect } from 'vitest';
import type { TestEnv } from '../support/env.ts';
import { waitFor } from '../support/env.ts';
import type { Tail } from '../support/pipeline.ts';
import { type BatchProducer, deliveryTest, makeBatch, TEST_TIERS } from './support.ts';

/**
 * Each test's own set-up with this cool-down: topics, receiver, subscriptions, delivery (one partition)
 * and a batch producer, the fixtures of its own `deliveryTest`, closed after the file.
 */
const breaker = (breakerCooldownMs: number) =>
  deliveryTest({
    overrides: {
      perEndpoint: 2,
      breakerFailures: 2,
      breakerCooldownMs,
      // No suspender: the exhausted webhook stays active, so every batch meets the circuit.
      roles: { main: true, suspender: false, tiers: TEST_TIERS },
    },
    inProcess: false,
  });

// At the top level, as vitest wants file-scoped fixtures defined.
// A cool-down longer than the test: no probe while it runs.
const longCooldown = breaker(10 * 60_000);
const shortCooldown = breaker(300);

/** What the tests read, over the fixtures: the attempts and DLQ tails (closed after the file), helpers. */
async function setup(f: {
  env: TestEnv;
  receiver: Receiver;
  delivery: DeliveryHandle;
  batches: BatchProducer;
  register: (path: string, overrides?: Partial<Webhook>) => Promise<Webhook>;
  tailOf: <T>(topic: string) => Promise<Tail<T>>;
}) {
  const attempts = await f.tailOf<AttemptRecord>(f.env.catalog.topics.attempts.name);
  const dlq = await f.tailOf<DeadLetter>(f.env.catalog.topics.dlq.name);
  const delivered = (id: string) =>
    f.receiver.requests.some((r) => r.headers['webhook-id'] === id && r.status === 200);
  const transitions = async (to: string) =>
    (await f.delivery.metrics.circuitTransitions.get()).values.find((v) => v.labels.to === to)?.value ?? 0;
  return { ...f, attempts, dlq, delivered, transitions };
}

async function committedAtEnd(f: Awaited<ReturnType<typeof setup>>, total: number) {
  const [o] = await f.env.admin.fetchOffsets({
    groupId: `${f.env.prefix}hookpost-delivery`,
    topics: [f.env.catalog.topics.batches.name],
  });
  return Number(o?.partitions[0]?.offset) === total;
}

const circuitOpen = (t: Tail<AttemptRecord>, batchId: string) =>
  t.values().filter((a) => a.batch_id === batchId && a.error === 'circuit_open').length;

describe('per-webhook circuit breaker', () => {
  longCooldown(
    'a hanging webhook opens its circuit; its neighbours on the same origin keep delivering',
    async ({ env, receiver, delivery, batches, register, tailOf }) => {
      const f = await setup({ env, receiver, delivery, batches, register, tailOf });
      const hanging = await f.register('/hang/h', { timeout_ms: 1_000 });
      const healthy = await Promise.all(Array.from({ length: 5 }, (_, i) => f.register(`/ok/n${i}`)));

      const first = Array.from({ length: 4 }, () => makeBatch(hanging));
      await f.batches.send(first);
      await waitFor(async () => (await f.delivery.metrics.circuitsOpen.get()).values[0]?.value === 1, {
        what: 'circuit open after two timeouts',
      });
      expect(await f.transitions('open')).toBe(1);
      const hangs = () => f.receiver.requests.filter((r) => r.path.startsWith('/hang')).length;

      // Interleaved: the hanging webhook's batches beside 30 healthy ones, on the one shared partition.
      const later = Array.from({ length: 36 }, (_, i) =>
        i % 6 === 0 ? makeBatch(hanging) : makeBatch(healthy[i % 5]!),
      );
      await f.batches.send(later);
      const healthyIds = later.filter((b) => b.webhook_id !== hanging.id).map((b) => b.batch_id);
      await waitFor(() => healthyIds.every(f.delivered), { what: '30 healthy batches delivered' });
      // Two timeouts opened it. Before anything failed the four first batches may all have had their
      // request (past 250 ms the first two freed their slots: at most twice the limit of 2); after the
      // first failure no other request while one hangs, and none once open: no probe within the cool-down.
      expect(hangs()).toBeGreaterThanOrEqual(2);
      expect(hangs()).toBeLessThanOrEqual(4);

      // Nothing lost: every hanging batch ends exhausted in the DLQ, its later attempts circuit_open.
      const hangIds = [...first, ...later].filter((b) => b.webhook_id === hanging.id).map((b) => b.batch_id);
      await waitFor(
        () =>
          hangIds.every((id) =>
            f.dlq.values().some((d) => d.reason === 'exhausted' && d.batch?.batch_id === id),
          ),
        { what: 'hanging batches exhausted into the DLQ' },
      );
      // The attempt records share a produce request with the letters but are read by another tail.
      await waitFor(() => hangIds.every((id) => circuitOpen(f.attempts, id) >= TEST_TIERS.length), {
        what: "the hanging batches' circuit_open attempt records read",
      });
      for (const id of hangIds) {
        const letter = f.dlq.values().find((d) => d.batch?.batch_id === id)!;
        expect(letter.attempts).toHaveLength(1 + TEST_TIERS.length);
        expect(letter.attempts.filter((a) => a.error === 'circuit_open').length).toBeGreaterThanOrEqual(
          TEST_TIERS.length,
        );
        expect(circuitOpen(f.attempts, id)).toBeGreaterThanOrEqual(TEST_TIERS.length);
      }
      expect(f.dlq.values().filter((d) => d.reason === 'exhausted')).toHaveLength(hangIds.length);
      // Every request that reached the endpoint is an attempt made before the circuit opened.
      const made = f.attempts
        .values()
        .filter((a) => a.webhook_id === hanging.id && a.error !== 'circuit_open');
      expect(made).toHaveLength(hangs());
      expect(hangs()).toBeLessThanOrEqual(4);
      await waitFor(() => committedAtEnd(f, first.length + later.length), { what: 'commit at the end' });
      expect((await f.delivery.metrics.circuitRefused.get()).values[0]?.value).toBeGreaterThan(0);
    },
  );

  shortCooldown(
    'after the cool-down one probe closes the circuit of a recovered webhook; all delivered',
    async ({ env, receiver, delivery, batches, register, tailOf }) => {
      const f = await setup({ env, receiver, delivery, batches, register, tailOf });
      // Fails twice (opening the circuit), then answers 200.
      const flaky = await f.register('/fail/2/500/r');
      const list = Array.from({ length: 3 }, () => makeBatch(flaky));
      // The third after the circuit opened, so it cannot be the request that meets the recovery.
      await f.batches.send(list.slice(0, 2));
      await waitFor(async () => (await f.transitions('open')) === 1, { what: 'circuit open' });
      await f.batches.send(list.slice(2));
      await waitFor(() => list.every((b) => f.delivered(b.batch_id)), {
        what: 'all recovered and delivered',
      });
      expect(await f.transitions('open')).toBe(1);
      expect(await f.transitions('half_open')).toBe(1);
      expect(await f.transitions('closed')).toBe(1);
      expect((await f.delivery.metrics.circuitsOpen.get()).values[0]?.value).toBe(0);
      // Batches met the open circuit (refused without a request) before their delivery.
      await waitFor(() => list.some((b) => circuitOpen(f.attempts, b.batch_id) > 0), {
        what: 'circuit_open attempts',
      });
      // Two failures, then exactly one delivery per batch: no request was made while the circuit was open.
      expect(f.receiver.requests.filter((r) => r.path.startsWith('/fail'))).toHaveLength(2 + list.length);
      expect(f.dlq.values()).toEqual([]);
      // Each attempt record carries the circuit right after it (what the API shows): open with its probe
      // time on the refused ones, closed with no streak on the deliveries.
      await waitFor(
        () =>
          list.every((b) =>
            f.attempts.values().some((a) => a.batch_id === b.batch_id && a.outcome === 'delivered'),
          ),
        { what: 'delivered attempts recorded' },
      );
      const mine = f.attempts.values().filter((a) => a.webhook_id === flaky.id);
      for (const a of mine.filter((x) => x.error === 'circuit_open')) {
        expect(a.circuit?.state).toBe('open');
        expect(a.circuit?.failures).toBe(2);
        expect(a.circuit?.probe_at).toBeGreaterThan(a.at - 1);
      }
      for (const a of mine.filter((x) => x.outcome === 'delivered'))
        expect(a.circuit).toEqual({ state: 'closed', failures: 0, probe_at: null });
      const failed = mine.filter((x) => x.status === 500).sort((x, y) => x.at - y.at);
      expect(failed.map((a) => a.circuit?.failures)).toEqual([1, 2]);
      expect(failed[1]!.circuit?.state).toBe('open');
    },
  );
});
