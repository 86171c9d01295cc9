/**
 * The 7-day delivery history: attempts materialised from webhooks.attempts into SQLite (node:sqlite, no
 * native addon). The consumed offset of each partition is stored in the same database, in the same
 * transaction as the rows, so after a restart the consumer resumes exactly where the rows end: no gap,
 * and a record read twice is an upsert on (partition, offset), never a duplicate row.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { AttemptCircuit, AttemptRecord } from '@hookpost/contracts';

/** A webhook's circuit for the API: `as_of` is the time of the attempt that recorded it (null: none). */
export interface WebhookCircuit extends AttemptCircuit {
  as_of: number | null;
}

export type StatusClass = '2xx' | '3xx' | '4xx' | '5xx' | 'error';

export function statusClass(status: number | null): StatusClass {
  if (status === null || status < 200 || status > 599) return 'error';
  return `${Math.floor(status / 100)}xx` as StatusClass;
}

export interface StoredAttempt extends AttemptRecord {
  partition: number;
  offset: number;
  status_class: StatusClass;
}

/** The API's representation of a stored attempt (its id is partition-offset in webhooks.attempts). */
export function presentAttempt(r: StoredAttempt) {
  return {
    id: `${r.partition}-${r.offset}`,
    batch_id: r.batch_id,
    attempt: r.attempt,
    tier: r.tier,
    created_at: new Date(r.at).toISOString(),
    status: r.status,
    status_class: r.status_class,
    latency_ms: r.latency_ms,
    outcome: r.outcome,
    error: r.error,
    response_excerpt: r.response_excerpt,
    event_count: r.event_count,
  };
}

export interface AttemptQuery {
  webhookId: string;
  statusClass?: StatusClass;
  from?: number;
  to?: number;
  limit: number;
  offset: number;
}

export interface AttemptStats {
  attempts: number;
  /** Attempts the endpoint answered 2xx. */
  delivered: number;
  p95LatencyMs: number | null;
  /** Newest attempt of the webhook (any age within the history), when one webhook was asked for. */
  last: StoredAttempt | null;
}

export class HistoryStore {
  private readonly db: DatabaseSync;

  constructor(path: string) {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new DatabaseSync(path);
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS attempts (
        topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
        webhook_id TEXT NOT NULL, batch_id TEXT NOT NULL, attempt INTEGER NOT NULL, tier TEXT NOT NULL,
        at INTEGER NOT NULL, status INTEGER, status_class TEXT NOT NULL, latency_ms INTEGER NOT NULL,
        outcome TEXT NOT NULL, error TEXT, response_excerpt TEXT, event_count INTEGER NOT NULL,
        PRIMARY KEY (topic, partition, offset));
      CREATE INDEX IF NOT EXISTS attempts_by_webhook ON attempts (webhook_id, at);
      CREATE INDEX IF NOT EXISTS attempts_by_time ON attempts (at);
      CREATE TABLE IF NOT EXISTS consumed (
        topic TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,
        PRIMARY KEY (topic, partition));
    `);
    // Added after the first release: a store written before has no circuit column yet.
    const columns = this.db.prepare('PRAGMA table_info(attempts)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'circuit'))
      this.db.exec('ALTER TABLE attempts ADD COLUMN circuit TEXT');
  }

  /** Highest offset applied per partition of `topic`. */
  offsets(topic: string): Map<number, number> {
    const rows = this.db.prepare('SELECT partition, offset FROM consumed WHERE topic = ?').all(topic) as {
      partition: number;
      offset: number;
    }[];
    return new Map(rows.map((r) => [Number(r.partition), Number(r.offset)]));
  }

  /** Applies a fetched batch and the partition's new offset atomically. */
  apply(
    topic: string,
    partition: number,
    lastOffset: number,
    records: { offset: number; record: AttemptRecord }[],
  ) {
    const insert = this.db.prepare(`INSERT OR REPLACE INTO attempts (topic, partition, offset, webhook_id,
      batch_id, attempt, tier, at, status, status_class, latency_ms, outcome, error, response_excerpt,
      event_count, circuit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.db.exec('BEGIN');
    try {
      for (const { offset, record: r } of records) {
        insert.run(
          topic,
          partition,
          offset,
          r.webhook_id,
          r.batch_id,
          r.attempt ?? 1,
          r.tier ?? '',
          r.at,
          r.status ?? null,
          statusClass(r.status ?? null),
          r.latency_ms ?? 0,
          r.outcome ?? 'retry',
          r.error ?? null,
          r.response_excerpt ?? null,
          r.event_count ?? 0,
          r.circuit ? JSON.stringify(r.circuit) : null,
        );
      }
      this.db
        .prepare(
          `INSERT INTO consumed VALUES (?, ?, ?) ON CONFLICT (topic, partition)
           DO UPDATE SET offset = MAX(offset, excluded.offset)`,
        )
        .run(topic, partition, lastOffset);
      this.db.exec('COMMIT');
    } catch (error) {
      this.db.exec('ROLLBACK');
      throw error;
    }
  }

  /** Newest first. */
  query(q: AttemptQuery): { rows: StoredAttempt[]; total: number } {
    const where = ['webhook_id = ?'];
    const args: (string | number)[] = [q.webhookId];
    if (q.statusClass) {
      where.push('status_class = ?');
      args.push(q.statusClass);
    }
    if (q.from !== undefined) {
      where.push('at >= ?');
      args.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('at < ?');
      args.push(q.to);
    }
    const clause = where.join(' AND ');
    const total = Number(
      (this.db.prepare(`SELECT COUNT(*) AS n FROM attempts WHERE ${clause}`).get(...args) as { n: number }).n,
    );
    const rows = this.db
      .prepare(
        `SELECT * FROM attempts WHERE ${clause} ORDER BY at DESC, partition, offset DESC LIMIT ? OFFSET ?`,
      )
      .all(...args, q.limit, q.offset) as unknown as StoredAttempt[];
    return { rows, total };
  }

  /**
   * Figures over attempts at or after `from` (ms), of one webhook or of all: how many, how many were
   * answered 2xx, the p95 latency (nearest rank) and the newest attempt.
   */
  stats(from: number, webhookId?: string): AttemptStats {
    const where = webhookId === undefined ? 'at >= ?' : 'webhook_id = ? AND at >= ?';
    const args = webhookId === undefined ? [from] : [webhookId, from];
    const counts = this.db
      .prepare(
        `SELECT COUNT(*) AS n, COALESCE(SUM(status_class = '2xx'), 0) AS ok FROM attempts WHERE ${where}`,
      )
      .get(...args) as { n: number; ok: number };
    const attempts = Number(counts.n);
    const delivered = Number(counts.ok);
    const p95 =
      attempts === 0
        ? null
        : Number(
            (
              this.db
                .prepare(
                  `SELECT latency_ms FROM attempts WHERE ${where} ORDER BY latency_ms LIMIT 1 OFFSET ?`,
                )
                .get(...args, Math.ceil(attempts * 0.95) - 1) as { latency_ms: number }
            ).latency_ms,
          );
    const last =
      webhookId === undefined
        ? undefined
        : (this.db
            .prepare('SELECT * FROM attempts WHERE webhook_id = ? ORDER BY at DESC, offset DESC LIMIT 1')
            .get(webhookId) as unknown as StoredAttempt | undefined);
    return { attempts, delivered, p95LatencyMs: p95, last: last ?? null };
  }

  /**
   * The webhook's circuit as its newest attempt recorded it; an open circuit past its probe time reads
   * half_open (the next attempt is the probe). Closed when no attempt in the history says otherwise.
   */
  circuit(webhookId: string, now: number): WebhookCircuit {
    const row = this.db
      .prepare(
        'SELECT at, circuit FROM attempts WHERE webhook_id = ? AND circuit IS NOT NULL ORDER BY at DESC, offset DESC LIMIT 1',
      )
      .get(webhookId) as { at: number; circuit: string } | undefined;
    if (!row) return { state: 'closed', failures: 0, probe_at: null, as_of: null };
    const c = JSON.parse(row.circuit) as AttemptCircuit;
    const state = c.state === 'open' && c.probe_at !== null && c.probe_at <= now ? 'half_open' : c.state;
    return { state, failures: c.failures, probe_at: c.probe_at, as_of: Number(row.at) };
  }

  /** Deletes attempts older than `before` (ms); returns how many went. */
  prune(before: number): number {
    return Number(this.db.prepare('DELETE FROM attempts WHERE at < ?').run(before).changes);
  }

  close(): void {
    this.db.close();
  }
}
