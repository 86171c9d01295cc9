import type { KafkaMessage } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isFencedError } from './errors.ts';
import {
  type BatchContext,
  chunkRecords,
  type PartitionControl,
  type PartitionHandler,
  PartitionWorker,
  type TxProducer,
  transactionalIdFor,
} from './partition-worker.ts';

/** A fake transactional producer that records what each transaction did and checks serialisation. */
function fakeProducer(opts: { failCommit?: (n: number) => unknown } = {}) {
  const log: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let commits = 0;
  const step = async (what: string) => {
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setImmediate(r));
    inFlight -= 1;
    log.push(what);
  };
  const producer: TxProducer = {
    connect: async () => void log.push('connect'),
    disconnect: async () => void log.push('disconnect'),
    transaction: async () => ({
      sendBatch: async ({ topicMessages }) => {
        await step(`send ${topicMessages!.flatMap((t) => t.messages.map((m) => String(m.value))).join(',')}`);
        return [];
      },
      sendOffsets: async ({ topics }) => step(`offsets ${topics[0]!.partitions[0]!.offset}`),
      commit: async () => {
        commits += 1;
        const err = opts.failCommit?.(commits);
        if (err) throw err;
        await step('commit');
      },
      abort: async () => step('abort'),
    }),
  };
  return { producer, log, maxInFlight: () => maxInFlight };
}

const msg = (offset: number, value = `v${offset}`): KafkaMessage =>
  ({
    offset: String(offset),
    key: null,
    value: Buffer.from(value),
    headers: {},
    timestamp: '0',
    attributes: 0,
  }) as KafkaMessage;

function ctx(resolved: string[] = []): BatchContext {
  return { heartbeat: async () => {}, resolveOffset: (o) => void resolved.push(o), isStale: () => false };
}

function worker(options: {
  producer: TxProducer;
  handler: (control: PartitionControl) => PartitionHandler;
  committed?: string;
  seeks?: string[];
  fenced?: unknown[];
}) {
  return new PartitionWorker({
    topic: 'in',
    partition: 0,
    groupId: 'g',
    producer: () => options.producer,
    handler: options.handler,
    hooks: {
      seek: (o) => void options.seeks?.push(o),
      fetchCommitted: async () => options.committed,
      onFenced: (e) => void options.fenced?.push(e),
      onTransaction: () => {},
      onError: () => {},
    },
  });
}

/** Echoes every input value to `out`; commits per batch. */
const echo =
  (decision: 'commit' | 'hold', resets: number[] = []) =>
  (): PartitionHandler => ({
    onMessages: async (messages, tx) => {
      await tx.send(messages.map((m) => ({ topic: 'out', key: null, value: m.value!.toString() })));
      return decision;
    },
    reset: () => void resets.push(1),
  });

describe('PartitionWorker', () => {
  it('fences first, then sends outputs and the next offset in one transaction', async () => {
    const f = fakeProducer();
    const w = worker({ producer: f.producer, handler: echo('commit'), committed: '10' });
    const resolved: string[] = [];
    await w.handleBatch([msg(10), msg(11)], ctx(resolved));
    expect(f.log).toEqual(['connect', 'abort', 'send v10,v11', 'offsets 12', 'commit']);
    expect(resolved).toEqual(['11']);
  });

  it('skips records below the offset committed by the previous owner', async () => {
    const f = fakeProducer();
    const w = worker({ producer: f.producer, handler: echo('commit'), committed: '12' });
    await w.handleBatch([msg(10), msg(11), msg(12)], ctx());
    expect(f.log).toContain('send v12');
    expect(f.log.join()).not.toContain('v10');
  });

  it('never runs two producer operations at once, even when a timer commits during batches', async () => {
    const f = fakeProducer();
    let control!: PartitionControl;
    const w = worker({
      producer: f.producer,
      handler: (c) => {
        control = c;
        return echo('hold')();
      },
    });
    await Promise.all([
      w.handleBatch([msg(0)], ctx()),
      control?.commit(async (tx) => tx.send([{ topic: 'out', key: null, value: 'timer' }])),
      w.handleBatch([msg(1)], ctx()),
      w.handleBatch([msg(2)], ctx()),
    ]);
    await control.commit(async () => {});
    expect(f.maxInFlight()).toBe(1);
    expect(f.log.filter((l) => l.startsWith('offsets')).at(-1)).toBe('offsets 3');
  });

  it('on a failed commit aborts, resets the handler, seeks back to the committed offset and rethrows', async () => {
    const f = fakeProducer({ failCommit: (n) => (n === 2 ? new Error('broker says no') : undefined) });
    const resets: number[] = [];
    const seeks: string[] = [];
    const w = worker({ producer: f.producer, handler: echo('commit', resets), committed: '0', seeks });
    await w.handleBatch([msg(0)], ctx());
    await expect(w.handleBatch([msg(1), msg(2)], ctx())).rejects.toThrow('broker says no');
    expect(resets).toHaveLength(1);
    expect(seeks).toEqual(['1']);
    expect(f.log.at(-1)).toBe('abort');
    // The records come again and are processed again from the committed offset.
    await w.handleBatch([msg(1), msg(2)], ctx());
    expect(f.log.slice(-3)).toEqual(['send v1,v2', 'offsets 3', 'commit']);
  });

  it('when fenced, stops using the producer and reports it', async () => {
    const fencedError = Object.assign(new Error('old epoch'), { type: 'INVALID_PRODUCER_EPOCH' });
    const f = fakeProducer({ failCommit: () => fencedError });
    const fenced: unknown[] = [];
    const w = worker({ producer: f.producer, handler: echo('commit'), committed: '0', fenced });
    await expect(w.handleBatch([msg(0)], ctx())).rejects.toBe(fencedError);
    expect(w.status).toBe('fenced');
    expect(fenced).toEqual([fencedError]);
    expect(f.log.at(-1)).toBe('disconnect');
    const before = f.log.length;
    await w.handleBatch([msg(0)], ctx());
    expect(f.log.length).toBe(before);
  });

  it('a held transaction is committed by the handler through its control, with the last position', async () => {
    const f = fakeProducer();
    let control!: PartitionControl;
    const w = worker({
      producer: f.producer,
      handler: (c) => {
        control = c;
        return echo('hold')();
      },
    });
    await w.handleBatch([msg(5)], ctx());
    await w.handleBatch([msg(6)], ctx());
    expect(f.log).not.toContain('commit');
    await control.commit(async () => {});
    expect(f.log.slice(-2)).toEqual(['offsets 7', 'commit']);
    expect(w.consumedPosition).toBe('7');
  });

  it('a marker after the last record of a fetch is committed past with that record', async () => {
    const f = fakeProducer();
    const w = worker({ producer: f.producer, handler: echo('commit'), committed: '10' });
    await w.handleBatch([msg(10), msg(11)], { ...ctx(), lastOffset: '12' });
    expect(f.log.slice(-2)).toEqual(['offsets 13', 'commit']);
  });

  it('a fetch of markers only is committed past in an offsets-only transaction when nothing waits', async () => {
    const f = fakeProducer();
    const w = worker({ producer: f.producer, handler: echo('commit'), committed: '10' });
    await w.handleBatch([msg(10), msg(11)], ctx());
    await w.skip('12', '12');
    expect(f.log.slice(-2)).toEqual(['offsets 13', 'commit']);
    expect(w.consumedPosition).toBe('13');
    // Not right behind the position (a stale or out-of-order report): nothing moves.
    await w.skip('20', '21');
    expect(w.consumedPosition).toBe('13');
    expect(f.log.filter((l) => l === 'commit')).toHaveLength(2);
  });

  it('markers behind held records move the position only: the held window commits them, never earlier', async () => {
    const f = fakeProducer();
    let control!: PartitionControl;
    const w = worker({
      producer: f.producer,
      handler: (c) => {
        control = c;
        return {
          // Holds records in memory without sending: committing past them now would lose them.
          onMessages: async () => 'hold',
          reset: () => {},
        };
      },
      committed: '5',
    });
    await w.handleBatch([msg(5), msg(6)], ctx());
    await w.skip('7', '8');
    expect(f.log).not.toContain('commit');
    await control.commit(async (tx) => tx.send([{ topic: 'out', key: null, value: 'window' }]));
    expect(f.log.slice(-3)).toEqual(['send window', 'offsets 9', 'commit']);
  });
});

describe('PartitionWorker with a handler that holds records past a commit', () => {
  it('loads state after fencing, commits the offset the handler holds at, reports commits, seeks back to it', async () => {
    const f = fakeProducer({ failCommit: (n) => (n === 2 ? new Error('broker says no') : undefined) });
    const seen: string[] = [];
    const seeks: string[] = [];
    const w = worker({
      producer: f.producer,
      committed: '4',
      seeks,
      handler: () => ({
        init: async (committed) => void seen.push(`init ${committed} after ${f.log.join(' ')}`),
        onMessages: async (messages, tx) => {
          await tx.send(messages.map((m) => ({ topic: 'out', key: null, value: m.value!.toString() })));
          return 'commit';
        },
        // Holds at offset 5 (an open batch began there), writing its state in the same transaction.
        prepareCommit: async (tx, position) => {
          await tx.send([{ topic: 'state', key: 'k', value: `at ${position}`, partition: 0 }]);
          return '5';
        },
        committed: () => void seen.push('committed'),
        reset: () => void seen.push('reset'),
      }),
    });
    await w.handleBatch([msg(4), msg(5), msg(6)], ctx());
    expect(seen).toEqual(['init 4 after connect abort', 'committed']);
    expect(f.log.slice(-4)).toEqual(['send v4,v5,v6', 'send at 7', 'offsets 5', 'commit']);
    expect(w.consumedPosition).toBe('7');
    // The next commit fails: back to the held offset, not to the consumed position.
    await expect(w.handleBatch([msg(7)], ctx())).rejects.toThrow('broker says no');
    expect(seeks).toEqual(['5']);
    expect(seen.at(-1)).toBe('reset');
    expect(w.consumedPosition).toBe('5');
  });

  it('never commits past the consumed position, whatever the handler answers', async () => {
    const f = fakeProducer();
    const w = worker({
      producer: f.producer,
      committed: '0',
      handler: () => ({ ...echo('commit')(), prepareCommit: async () => '99' }),
    });
    await w.handleBatch([msg(0), msg(1)], ctx());
    expect(f.log).toContain('offsets 2');
  });
});

describe('helpers', () => {
  it("chunks a transaction's sends so no record batch passes the broker limit", () => {
    const r = (n: number) => ({ topic: 't', key: null, value: 'x'.repeat(n) });
    const chunks = chunkRecords([r(400), r(400), r(300), r(2000), r(10)], 1000);
    expect(chunks.map((c) => c.map((x) => x.value?.length))).toEqual([[400, 400], [300], [2000], [10]]);
  });

  it('recognises fencing however KafkaJS wraps it', () => {
    expect(isFencedError({ originalError: { type: 'INVALID_PRODUCER_EPOCH' } })).toBe(true);
    expect(isFencedError(new Error('timeout'))).toBe(false);
    expect(transactionalIdFor('fanout', 'email.events', 3)).toBe('fanout.email.events.3');
  });
});
