/**
 * Per topic the product reads: what a hostile record looks like there. The field specs follow the
 * documents of libs/contracts (records.ts, schemas.ts); `needs` are the fields every reader of the topic
 * requires, so JSON that lacks them can never be a valid record there.
 */
import { randomUUID } from 'node:crypto';
import { type SecretBox, sealWebhook, type Webhook } from '@hookpost/contracts';
import { emailEventSchema } from '@hookpost/events';
import avro from 'avsc';
import fc from 'fast-check';
import {
  failedAttempt,
  makeAttempt,
  makeBatch,
  makeDeadLetter,
  makeDispatch,
  makeRetry,
} from '../../support/factories.ts';
import {
  anyHeaders,
  anyKey,
  badFramed,
  badValue,
  dueHeader,
  type HostileRecord,
  mutated,
  notUtf8,
  positions,
} from './arbitraries.ts';
import {
  A,
  ATTEMPT,
  BATCH,
  BATCH_HEAD,
  DEAD,
  DISPATCH,
  EVENT_DISPATCH_HEAD,
  LEDGER,
  N,
  NOTICE,
  O,
  RETRY,
  S,
  STORED,
} from './specs.ts';

// The good records beside the hostile ones: the shared factories (test/support/factories.ts).
export const dispatchRecord = (webhook: Webhook, id: string) => makeDispatch(webhook, id);

export const batchRecord = (webhook: Webhook, ids: string[]) => makeBatch(webhook, ids);

export const retryRecord = (webhook: Webhook, ids: string[], tier: string) =>
  makeRetry(makeBatch(webhook, ids), tier, { history: [failedAttempt(Date.now())] });

export function deadLetter(webhook: Webhook, ids: string[]) {
  const batch = makeBatch(webhook, ids);
  return { ...makeDeadLetter(batch), batch };
}

/** The 4 bytes that open the framed forms (libs/contracts dispatch-wire.ts, batch-wire.ts). */
const DISPATCH_MAGIC = Buffer.from([0x00, 0x68, 0x64, 0x31]);
const BATCH_MAGIC = Buffer.from([0x00, 0x68, 0x62, 0x31]);

/** The fan-out's per-event record for `webhook`, but its data (a framed record's head). */
function eventDispatchHead(webhook: Webhook) {
  const now = Date.now();
  return {
    event_id: `trap-${randomUUID()}`,
    type: 'activity.sent',
    domain_id: webhook.domain_id,
    created_at: new Date(now).toISOString(),
    event_created_at: now,
    dispatched_at: now,
    webhooks: [{ id: webhook.id, url: webhook.url }],
  };
}

/** A batch record for `webhook` but its body (a framed record's head). */
function batchHead(webhook: Webhook) {
  const { body: _, ...head } = makeBatch(webhook, [`trap-${randomUUID()}`]);
  return head;
}

export const attemptRecord = (webhookId: string, batchId: string) => makeAttempt(webhookId, batchId);

export function notice(webhook: Webhook) {
  return {
    type: 'webhook.suspended',
    webhook_id: webhook.id,
    account_id: webhook.account_id,
    domain_id: webhook.domain_id,
    reason: 'exhausted',
    at: Date.now(),
    counts: { events: 1 },
  };
}

export function ledgerEntry(dlqId: string) {
  return { dlq_id: dlqId, webhook_id: null, target: 'batches', replayed_at: Date.now(), by: 'cli' };
}

export interface Targets {
  /** Webhooks whose ids hostile records carry: taking one of those records as valid would show. */
  trap: Webhook;
  good: Webhook[];
  box: SecretBox;
  tiers: string[];
}

const rec = (key: fc.Arbitrary<HostileRecord['key']>, value: fc.Arbitrary<Buffer | null>) =>
  fc.record({ key, value, headers: anyHeaders });

/** Work topics: what must become a poison dead letter. */
function workArbitraries(t: Targets) {
  const ids = [t.trap.id, ...t.good.map((w) => w.id)];
  const tpl = (f: () => object) => () => structuredClone(f()) as Record<string, unknown>;
  const batchNested = { batch: { spec: BATCH, removable: ['batch_id', 'webhook_id', 'body', 'event_ids'] } };
  return {
    dispatch: rec(
      anyKey(ids, true),
      fc.oneof(
        badValue(
          { event_id: S, webhook_id: S, type: S, payload: O },
          mutated(
            tpl(() => dispatchRecord(t.trap, `trap-${randomUUID()}`)),
            DISPATCH,
            ['event_id', 'webhook_id', 'type', 'payload'],
          ),
          { tombstones: true },
        ),
        // The fan-out's framed per-event form, listing the trap webhook.
        badFramed(
          DISPATCH_MAGIC,
          {
            good: tpl(() => eventDispatchHead(t.trap)),
            mutants: mutated(
              tpl(() => eventDispatchHead(t.trap)),
              EVENT_DISPATCH_HEAD,
              ['event_id', 'type', 'domain_id', 'webhooks'],
            ),
          },
          {
            good: () => Buffer.from('{"object":"activity"}'),
            bad: fc.oneof(
              notUtf8,
              fc
                .constantFrom('', '[1]', 'null', '"s"', '{"a":', '{}{}', '{"a":1}x')
                .map((v) => Buffer.from(v)),
              fc
                .jsonValue({ maxDepth: 2 })
                .filter((v) => typeof v !== 'object' || v === null || Array.isArray(v))
                .map((v) => Buffer.from(JSON.stringify(v))),
            ),
          },
        ),
      ),
    ),
    batches: rec(
      anyKey(ids, true),
      fc.oneof(
        badValue(
          { batch_id: S, webhook_id: S, body: S, event_ids: A },
          mutated(
            tpl(() => batchRecord(t.trap, [`trap-${randomUUID()}`])),
            BATCH,
            ['batch_id', 'webhook_id', 'body', 'event_ids'],
          ),
          { tombstones: true },
        ),
        // The batcher's framed form for the trap webhook: the body is sent as it is, so it must be UTF-8.
        badFramed(
          BATCH_MAGIC,
          {
            good: tpl(() => batchHead(t.trap)),
            mutants: mutated(
              tpl(() => batchHead(t.trap)),
              BATCH_HEAD,
              ['batch_id', 'webhook_id', 'event_ids'],
            ),
          },
          { good: () => Buffer.from('[]'), bad: notUtf8 },
        ),
      ),
    ),
    retry: (tier: string) =>
      rec(
        anyKey(ids, true),
        badValue(
          { batch: O, attempt: N, due_at: N },
          mutated(
            tpl(() => retryRecord(t.trap, [`trap-${randomUUID()}`], tier)),
            RETRY,
            ['batch', 'attempt', 'due_at'],
            batchNested,
          ),
          { tombstones: true },
        ),
      ),
  };
}

/** Other topics: what must be skipped and counted. Dead letters and attempts name good webhooks. */
function otherArbitraries(t: Targets) {
  const ids = [t.trap.id, ...t.good.map((w) => w.id)];
  const victim = t.good[0]!;
  const tpl = (f: () => object) => () => structuredClone(f()) as Record<string, unknown>;
  return {
    dlq: rec(
      anyKey(ids, true),
      badValue(
        { dlq_id: S, reason: S, dead_at: N },
        mutated(
          tpl(() => deadLetter(victim, [`trap-${randomUUID()}`])),
          DEAD,
          ['dlq_id', 'reason', 'dead_at'],
        ),
        { tombstones: true },
      ),
    ),
    attempts: rec(
      anyKey(ids, true),
      badValue(
        { webhook_id: S, batch_id: S, at: N },
        mutated(
          tpl(() => attemptRecord(t.trap.id, `trap-${randomUUID()}`)),
          ATTEMPT,
          ['webhook_id', 'batch_id', 'at'],
        ),
        { tombstones: true },
      ),
    ),
    operational: rec(
      anyKey(ids, true),
      badValue(
        { type: S, webhook_id: S },
        mutated(
          tpl(() => notice(t.trap)),
          NOTICE,
          ['type', 'webhook_id'],
        ),
        { tombstones: true },
      ),
    ),
    // Compacted: keys are required (the broker refuses null keys), and a tombstone is a valid delete.
    ledger: rec(
      anyKey([], false),
      badValue(
        { dlq_id: S, target: S },
        mutated(
          tpl(() => ledgerEntry(`dlq-${randomUUID()}`)),
          LEDGER,
          ['dlq_id', 'target'],
        ),
        { tombstones: false },
      ),
    ),
    // Keyed by a real webhook id, a newer version, and never valid: the table must keep the webhook as it was.
    subscriptions: fc
      .record({
        webhook: fc.constantFrom(t.trap, ...t.good),
        value: badValue(
          { id: S, events: A },
          mutated(
            tpl(() => ({ ...sealWebhook(t.box, t.trap), version: 1_000 })),
            STORED,
            ['id', 'events', 'secrets', 'url', 'version'],
            {
              batch: { spec: { max_events: N, window_ms: N }, removable: ['max_events', 'window_ms'] },
            },
          ),
          { tombstones: false },
        ),
        headers: anyHeaders,
      })
      .map(({ webhook, value, headers }) => ({ key: webhook.id, value, headers })),
  };
}

/** email.events: bytes no decoder may take for an event (Confluent wire format with schema `schemaId`). */
export function eventArbitrary(schemaId: number, reader: avro.Type, ids: string[]) {
  const wire = (id: number, body: Uint8Array) => {
    const b = Buffer.alloc(5 + body.length);
    b.writeUInt8(0, 0);
    b.writeUInt32BE(id, 1);
    Buffer.from(body).copy(b, 5);
    return b;
  };
  const undecodable = (b: Buffer) => {
    try {
      reader.fromBuffer(b.subarray(5), undefined, false);
      return false;
    } catch {
      return true;
    }
  };
  const value = fc.oneof(
    fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b)),
    fc
      .tuple(fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 60 }))
      .map(([m, b]) => Buffer.concat([Buffer.from([m]), Buffer.from(b)])),
    fc
      .tuple(fc.integer({ min: 900_000_000, max: 2 ** 31 - 1 }), fc.uint8Array({ maxLength: 40 }))
      .map(([id, b]) => wire(id, b)),
    fc
      .uint8Array({ maxLength: 80 })
      .map((b) => wire(schemaId, b))
      .filter(undecodable),
    fc.uint8Array({ maxLength: 4 }).map((b) => Buffer.concat([Buffer.from([0]), Buffer.from(b)])),
    fc.constant(Buffer.alloc(0)),
    fc.constant(null),
  );
  return rec(anyKey(ids, true), value);
}

/** One run's hostile records: `perRun` per topic, x-due-at on every tier record, where to put the good. */
export function runArbitrary(t: Targets, schemaId: number, domain: string, perRun: number) {
  const reader = avro.Type.forSchema(emailEventSchema() as avro.Schema);
  const work = workArbitraries(t);
  const other = otherArbitraries(t);
  const list = (a: fc.Arbitrary<HostileRecord>) => fc.array(a, { minLength: perRun, maxLength: perRun });
  const withDue = (a: fc.Arbitrary<HostileRecord>) =>
    fc.tuple(a, dueHeader).map(([r, due]) => ({ ...r, headers: { ...r.headers, 'x-due-at': due } }));
  return fc.record({
    events: list(eventArbitrary(schemaId, reader, [domain])),
    dispatch: list(work.dispatch),
    batches: list(work.batches),
    tiers: fc.tuple(...t.tiers.map((x) => list(withDue(work.retry(x))))),
    dlq: list(other.dlq),
    attempts: list(other.attempts),
    operational: list(other.operational),
    ledger: list(other.ledger),
    subscriptions: list(other.subscriptions),
    goodDue: fc.array(dueHeader, { minLength: 2 * t.tiers.length, maxLength: 2 * t.tiers.length }),
    at: positions(12, perRun),
  });
}
