/**
 * The fixtures of test/support/fixtures.ts close what a test opened when the test fails: the first test
 * here fails on purpose (`it.fails` passes only if its body throws) with a consumer and a receiver open
 * through `opened`; the next one finds the consumer's group without members and the port closed.
 */
import { connect } from 'node:net';
import { provisionTopics, readTopics } from '@hookpost/kafka';
import { startReceiver } from '@hookpost/sender';
import { describe, expect } from 'vitest';
import { it, Owner } from '../support/fixtures.ts';

let opened: { group: string; port: number } | undefined;

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

describe('fixtures close what a failing test opened', () => {
  it.fails('fails with a consumer and a receiver open', async ({ env, opened: owner }) => {
    await provisionTopics(env.admin, [env.catalog.topics.dlq]);
    const group = `${env.prefix}fixtures-consumer`;
    const reader = owner.own(
      await readTopics(env.kafka, {
        groupId: group,
        topics: [env.catalog.topics.dlq.name],
        eachMessage: () => {},
      }),
      (r) => r.stop(),
    );
    await reader.joined;
    const receiver = owner.own(await startReceiver(), (r) => r.close());
    opened = { group, port: receiver.port };
    // The failure: the port is open while the test runs. (The next test fails if this line is not reached.)
    expect(await refused(receiver.port)).toBe(true);
  });

  it('after it: the group has no member and the receiver port is closed', async ({ env }) => {
    expect(opened).toBeDefined();
    const { groups } = await env.admin.describeGroups([opened!.group]);
    expect(groups[0]).toMatchObject({ state: 'Empty', members: [] });
    expect(await refused(opened!.port)).toBe(true);
  });
});

describe('Owner', () => {
  it('closes the last opened first, runs every close when one throws, and rethrows the first error', async () => {
    const order: string[] = [];
    const owner = new Owner();
    owner.own('a', (v) => void order.push(v));
    owner.own('b', () => {
      order.push('b');
      throw new Error('b failed');
    });
    owner.own('c', async (v) => void order.push(v));
    await expect(owner.closeAll()).rejects.toThrow('b failed');
    expect(order).toEqual(['c', 'b', 'a']);
    await owner.closeAll();
    expect(order).toHaveLength(3);
  });
});
