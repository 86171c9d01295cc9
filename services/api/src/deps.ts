/** What the routes receive: the API's collaborators, and the shared route helpers' shape. */
import type { Webhook } from '@hookpost/contracts';
import type { Kafka, RecordSkipper, SerialProducer } from '@hookpost/kafka';
import type { Logger } from '@hookpost/logger';
import type { Registry } from '@hookpost/metrics';
import type { HttpSender, SsrfAllow } from '@hookpost/sender';
import { type SubscriptionTable, type SubscriptionWriter, writeThrough } from '@hookpost/subscriptions';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal, TokenAuthority } from './auth.ts';
import type { DeadLetterIndex } from './dead-letter-index.ts';
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
  topics: {
    operational: string;
    dlq: string;
    batches: string;
    dispatch: string;
    ledger: string;
    /** email.events, read only for the fan-out stage's lag. */
    events: string;
  };
  /** The topic prefix (also the prefix of the services' consumer groups). */
  topicPrefix: string;
  /** Link from the console's overview to the Grafana dashboard; empty for none. */
  grafanaUrl: string;
  groupPrefix: string;
  /** Where invalid DLQ and ledger records met by a resend are skipped (counted, logged). */
  skipper?: RecordSkipper;
  sender: Pick<HttpSender, 'send'>;
  history: HistoryStore;
  /** The DLQ's figures, kept by a consumer of the DLQ and the replay ledger. */
  deadLetters: Pick<DeadLetterIndex, 'book' | 'caughtUp'>;
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
  /** Runs `change` under the webhook's lock on the webhook `visible` finds (else the reply is the 404). */
  locked<T>(
    request: FastifyRequest,
    reply: FastifyReply,
    id: string,
    change: (current: Webhook) => Promise<T>,
  ): Promise<T | FastifyReply>;
}

/** Writes the document and resolves once this instance's table has applied it (read-your-writes). */
export async function commit(deps: ApiDeps, webhook: Webhook): Promise<Webhook> {
  await writeThrough(deps, (w) => w.put(webhook));
  return deps.table.get(webhook.id) ?? webhook;
}
