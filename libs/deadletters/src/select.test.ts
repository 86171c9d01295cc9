import {
  type BatchRecord,
  type DeadLetter,
  parseBatchRecord,
  parseDeadLetter,
  parseDispatchRecord,
  parseLedgerEntry,
  parseOperationalNotice,
  WEBHOOK_VERSION_HEADER,
  type Webhook,
  webhookVersionOf,
} from '@hookpost/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REPLAY_HEADERS } from './definitions.ts';
import { resumedNotice } from './resume.ts';
import { decide, ledgerEntry, matches, replayMessages, summarise } from './select.ts';

const batch: BatchRecord = {
  batch_id: 'b1',
  webhook_id: 'wh1',
  format: 'json',
  body: '[]',
  event_ids: ['e1', 'e2'],
  first_enqueued_at: 1,
  oldest_event_at: 1,
  created_at: 1,
};

function dl(over: Partial<DeadLetter> = {}): DeadLetter {
  return {
    dlq_id: 'd1',
    reason: 'exhausted',
    webhook_id: 'wh1',
    batch,
    dispatch: null,
    attempts: [],
    error: 'HTTP 500',
    dead_at: 1_000,
    source: null,
    ...over,
  };
}

const active = { id: 'wh1', status: 'active' } as Webhook;
const lookup = (id: string) => (id === 'wh1' ? active : undefined);
const base = { replayed: new Set<string>(), force: false, lookup, resuming: new Set<string>() };

describe('dead-letter selection', () => {
  it('filters by webhook, reason and a half-open time range', () => {
    expect(matches(dl(), { webhookId: 'wh1', reasons: ['exhausted'], from: 1_000, to: 1_001 })).toBe(true);
    expect(matches(dl(), { to: 1_000 })).toBe(false);
    expect(matches(dl(), { from: 1_001 })).toBe(false);
    expect(matches(dl(), { reasons: ['gone'] })).toBe(false);
    expect(matches(dl(), { webhookId: 'wh2' })).toBe(false);
  });

  it('summarises counts and events by webhook and reason', () => {
    const rows = summarise([
      dl(),
      dl({ dlq_id: 'd2', dead_at: 5 }),
      dl({ dlq_id: 'd3', reason: 'suspended', batch: null, dispatch: [{} as never] }),
    ]);
    expect(rows[0]).toMatchObject({ webhook_id: 'wh1', reason: 'exhausted', count: 2, events: 4, oldest: 5 });
    expect(rows[1]).toMatchObject({ reason: 'suspended', count: 1, events: 1 });
  });

  it('replays a batch to batches and dispatch-only letters to dispatch', () => {
    expect(decide(dl(), base)).toEqual({ ok: true, target: 'batches', webhookId: 'wh1' });
    expect(decide(dl({ batch: null, dispatch: [{} as never], reason: 'suspended' }), base)).toMatchObject({
      target: 'dispatch',
    });
  });

  it('skips what was replayed unless forced, poison, missing and suspended webhooks', () => {
    const replayed = new Set(['d1']);
    expect(decide(dl(), { ...base, replayed })).toMatchObject({ ok: false, skip: 'already_replayed' });
    expect(decide(dl(), { ...base, replayed, force: true })).toMatchObject({ ok: true });
    expect(decide(dl({ reason: 'poison', webhook_id: null, batch: null }), base)).toMatchObject({
      skip: 'not_replayable',
    });
    expect(decide(dl({ webhook_id: 'gone' }), base)).toMatchObject({ skip: 'webhook_missing' });
    const suspended = { ...base, lookup: () => ({ id: 'wh1', status: 'suspended' }) as Webhook };
    expect(decide(dl(), suspended)).toMatchObject({ skip: 'webhook_suspended' });
    expect(decide(dl(), { ...suspended, resuming: new Set(['wh1']) })).toMatchObject({ ok: true });
  });

  it('re-enqueues the batch unchanged, keyed by webhook id, marked as a replay', () => {
    const [m] = replayMessages(dl(), 42, REPLAY_HEADERS, undefined);
    expect(m?.key).toBe('wh1');
    expect(JSON.parse(m!.value)).toEqual(batch);
    expect(m?.headers).toEqual({ 'x-replay-of': 'd1', 'x-replayed-at': '42' });
  });

  it('carries the webhook version the replayer saw, which delivery reads back', () => {
    const [m] = replayMessages(dl(), 42, REPLAY_HEADERS, 7);
    expect(m?.headers).toEqual({ 'x-replay-of': 'd1', 'x-replayed-at': '42', [WEBHOOK_VERSION_HEADER]: '7' });
    expect(webhookVersionOf(m?.headers)).toBe(7);
  });

  it('what a replay writes validates: re-enqueued batches and dispatch records, ledger entries, resumed notices', () => {
    const id = fc.string({ minLength: 1, maxLength: 8 });
    const letter = fc
      .record({
        dlq_id: id,
        webhook_id: id,
        events: fc.array(id, { maxLength: 4 }),
        asDispatch: fc.boolean(),
        at: fc.nat(),
        by: fc.string(),
        target: fc.constantFrom('batches' as const, 'dispatch' as const),
      })
      .map((x) => ({
        x,
        dl: dl({
          dlq_id: x.dlq_id,
          webhook_id: x.webhook_id,
          batch: x.asDispatch ? null : { ...batch, webhook_id: x.webhook_id, event_ids: x.events },
          dispatch: x.asDispatch
            ? x.events.map((e) => ({
                event_id: e,
                webhook_id: x.webhook_id,
                type: 'activity.delivered',
                event_created_at: x.at,
                dispatched_at: x.at,
                payload: { e },
              }))
            : null,
        }),
      }));
    fc.assert(
      fc.property(letter, ({ x, dl: d }) => {
        expect(parseDeadLetter(Buffer.from(JSON.stringify(d)))).toMatchObject({ ok: true });
        const parse = x.asDispatch ? parseDispatchRecord : parseBatchRecord;
        for (const m of replayMessages(d, x.at, REPLAY_HEADERS, x.at + 1))
          expect(parse(Buffer.from(m.value))).toMatchObject({ ok: true });
        const entry = JSON.stringify(ledgerEntry(d, x.target, x.at, x.by));
        expect(parseLedgerEntry(Buffer.from(entry))).toMatchObject({ ok: true });
        const w = { id: x.webhook_id, account_id: 'a', domain_id: 'd', status_reason: null } as Webhook;
        const notice = JSON.stringify(resumedNotice(w, x.at, x.by));
        expect(parseOperationalNotice(Buffer.from(notice))).toMatchObject({ ok: true });
      }),
    );
  });
});
