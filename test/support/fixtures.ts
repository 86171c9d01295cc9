/**
 * Fixtures that close what they open (vitest `test.extend`). A test names what it needs in its first
 * argument; each thing is opened on first use and closed by the fixture after the file's last test (the
 * file-scoped ones) or after the test (`opened`), whether the test passed or failed — no afterAll blocks.
 *
 * - `env`: the file's test env (own topic prefix, admin client); options per file via `integrationTest`.
 * - `receiver`: a webhook receiver on a free port.
 * - `producer`: a connected serial idempotent producer (libs/kafka `serialProducer`).
 * - `owned`: file-scoped owner for what `beforeAll` opens (`owned.own(x, close)`).
 * - `tailOf(topic, options)`: a `tail` (test/support/pipeline.ts) of the topic, closed at the file's end.
 * - `spawn`: spawns a service (test/support/services.ts); at the file's end it gets SIGTERM (it leaves
 *   its consumer groups, so none of its members linger on the shared broker), SIGKILL if still running
 *   after 10 s.
 * - `opened`: test-scoped owner for what one test opens (consumers, producers, tails).
 *
 * Fixtures set up by a test count against the test's timeout; slow set-up (spawned services) belongs
 * in `beforeAll(async ({ spawn }) => …)`, which gets the hook timeout and the same file-scoped fixtures.
 */
import { serialProducer } from '@hookpost/kafka';
import { startReceiver } from '@hookpost/sender';
import { test as base } from 'vitest';
import { testEnv } from './env.ts';
import { tail } from './pipeline.ts';
import { type RunningProcess, spawnService } from './services.ts';

/**
 * Closes what it was given, the last opened first; every close runs even when an earlier one throws,
 * and the first error is rethrown after all ran.
 */
export class Owner {
  private readonly closers: (() => unknown)[] = [];

  own<T>(value: T, close: (value: T) => unknown): T {
    this.closers.push(() => close(value));
    return value;
  }

  async closeAll(): Promise<void> {
    let first: unknown;
    for (let close = this.closers.pop(); close; close = this.closers.pop()) {
      try {
        await close();
      } catch (error) {
        first ??= error;
      }
    }
    if (first !== undefined) throw first;
  }
}

async function stopService(p: RunningProcess): Promise<void> {
  const unresponsive = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
  await p.kill('SIGTERM');
  clearTimeout(unresponsive);
}

function owner(onCleanup: (close: () => Promise<void>) => void): Owner {
  const o = new Owner();
  onCleanup(() => o.closeAll());
  return o;
}

/** The integration fixtures over a test env made with `options` (partitions, retry tiers). */
export function integrationTest(options: Parameters<typeof testEnv>[0] = {}) {
  return (
    base
      // biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's dependencies from its first argument
      .extend('env', { scope: 'file' }, async ({}, { onCleanup }) => {
        const env = await testEnv(options);
        onCleanup(() => env.close());
        return env;
      })
      // biome-ignore lint/correctness/noEmptyPattern: as above
      .extend('owned', { scope: 'file' }, ({}, { onCleanup }) => owner(onCleanup))
      // biome-ignore lint/correctness/noEmptyPattern: as above
      .extend('receiver', { scope: 'file' }, async ({}, { onCleanup }) => {
        const receiver = await startReceiver();
        onCleanup(() => receiver.close());
        return receiver;
      })
      .extend('producer', { scope: 'file' }, async ({ env }, { onCleanup }) => {
        const producer = serialProducer(env.kafka);
        await producer.producer.connect();
        onCleanup(() => producer.disconnect());
        return producer;
      })
      .extend(
        'tailOf',
        { scope: 'file' },
        ({ env, owned }) =>
          async <T>(topic: string, tailOptions?: Parameters<typeof tail>[2]) =>
            owned.own(await tail<T>(env, topic, tailOptions), (t) => t.close()),
      )
      .extend(
        'spawn',
        { scope: 'file' },
        ({ owned }) =>
          (...args: Parameters<typeof spawnService>) =>
            owned.own(spawnService(...args), stopService),
      )
      // biome-ignore lint/correctness/noEmptyPattern: as above
      .extend('opened', ({}, { onCleanup }) => owner(onCleanup))
  );
}

/** The integration fixtures over a test env with the default options (3 partitions). */
export const it = integrationTest();
