/** What the routes receive: the API's collaborators, and the shared route helpers' shape. */
import type { Webhook } from '@hookpost/contracts';
import type { Kafka, RecordSkipper, SerialProducer } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import type { Registry } from '@hookpost/metrics';
import type { HttpSender, SsrfAllow } from '@hookpost/sender';
import type { SubscriptionTable, SubscriptionWriter } from '@hookpost/subscriptions';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, TokenAuthority } from './auth.ts';
import type { HistoryStore } from './history-store.ts';
import type { KeyedLock } from './http-support.ts';

export interface ApiDeps {
  logger: Logger;
  metrics?: Registry;
  authority: TokenAuthority;
  table: SubscriptionTable;
  writer: SubscriptionWriter;
  /** Producer of operational notices. */
  notices: SerialProducer;
  kafka: Kafka;
  topics: { operational: string; dlq: string; batches: string; dispatch: string; ledger: string };
  groupPrefix: string;
  /** Where invalid DLQ and ledger records met by a resend are skipped (counted, logged). */
  skipper?: RecordSkipper;
  sender: Pick<HttpSender, 'send'>;
  history: HistoryStore;
  allow: SsrfAllow;
  bodyLimitBytes: number;
  secretGraceMs: number;
  historyMs: number;
  now: () => number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
  interface FastifyContextConfig {
    write?: boolean;
  }
}

/** Shared by the route modules. */
export interface RouteContext {
  deps: ApiDeps;
  lock: KeyedLock;
  /** The webhook if it exists and the caller's token may see its domain; otherwise the reply is a 404. */
  visible(request: FastifyRequest, reply: FastifyReply, id: string): Webhook | undefined;
}

/** Writes the document and resolves once this instance's table has applied it (read-your-writes). */
export async function commit(deps: ApiDeps, webhook: Webhook): Promise<Webhook> {
  const written = await deps.writer.put(webhook);
  await deps.table.waitForOffset(written.partition, written.offset);
  return deps.table.get(webhook.id) ?? webhook;
}
