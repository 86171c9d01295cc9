/**
 * One HTTP attempt of one batch: build the signed request, send it through a pooled undici Agent whose
 * sockets resolve names through the SSRF guard, and map whatever happens to an outcome value. Nothing
 * here retries, sleeps, logs or counts: the caller decides what an outcome means (next tier, DLQ,
 * suspension) and owns metrics.
 */

import { setImmediate } from 'node:timers/promises';
import { activeSecrets, type BatchRecord, batchBodyBytes, LIMITS, type Webhook } from '@hookpost/contracts';
import { Agent } from 'undici';
import pkg from '../package.json' with { type: 'json' };
import { CONTENT_TYPES, HEADERS, SENDER_DEFAULTS } from './definitions.ts';
import { type Exchanged, exchange, TIMEOUT } from './exchange.ts';
import { signRequest } from './signing.ts';
import { isSsrfError, type Resolver, type SsrfAllow, SsrfGuard } from './ssrf.ts';

export interface HttpSenderOptions {
  /** What the SSRF guard lets through besides public addresses (tests allow loopback). */
  allow?: SsrfAllow;
  /** Name resolution behind the guard; defaults to the system resolver (dns.lookup). */
  resolve?: Resolver;
  /** Upper bound of open connections per origin (scheme+host+port). */
  connectionsPerOrigin?: number;
  keepAliveTimeoutMs?: number;
  keepAliveMaxTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Cap on a receiver's Retry-After (default 1 h). */
  maxRetryAfterMs?: number;
  /** Bytes of response body kept as the excerpt (default 1 KiB). */
  excerptBytes?: number;
  /** Bytes read past the excerpt to keep the connection reusable (default 64 KiB). */
  drainBytes?: number;
  userAgent?: string;
  /** Wall clock (ms): signature timestamps, secret expiry, Retry-After dates. */
  now?: () => number;
  /** Monotonic clock (ms) for latency; wall-clock jumps must not produce negative latencies. */
  monotonic?: () => number;
}

export interface SendInput {
  webhook: Pick<Webhook, 'url' | 'secrets' | 'timeout_ms' | 'auth'>;
  batch: Pick<BatchRecord, 'batch_id' | 'body' | 'format'>;
  /** 1-based attempt number; not sent, carried so call sites read naturally and for future headers. */
  attempt: number;
  /** Time of this attempt (ms); defaults to the `now` option. */
  now?: number;
  /** W3C traceparent of the attempt's span, sent as is (tracing on); absent: no header. */
  traceparent?: string;
}

/**
 * - `delivered`: 2xx.
 * - `retry`: anything a later attempt may fix (other statuses, 3xx, timeouts, network errors).
 * - `gone`: 410; the receiver asks to stop, so the webhook is suspended at once.
 * - `refused`: not sent and never will be as configured (SSRF policy, unusable secret).
 */
type SendKind = 'delivered' | 'retry' | 'gone' | 'refused';

export interface SendOutcome {
  kind: SendKind;
  status: number | null;
  latencyMs: number;
  /** Short, stable-ish description for histories and logs; never contains a secret. */
  error: string | null;
  /** From Retry-After on 429/503, capped at `maxRetryAfterMs`. */
  retryAfterMs: number | null;
  responseExcerpt: string | null;
}

const DEFAULT_USER_AGENT = `hookpost/${pkg.version} (+https://github.com/hookpost)`;

/** Excerpts are text for people: invalid UTF-8 becomes U+FFFD rather than an error. */
const DECODER = new TextDecoder();

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

type Target = { ok: true; origin: string; path: string } | { ok: false; reason: string };
const MAX_TARGETS = 10_000;

export class HttpSender {
  private readonly agent: Agent;
  private readonly targets = new Map<string, Target>();
  private readonly guard: SsrfGuard;
  private readonly maxRetryAfterMs: number;
  private readonly excerptBytes: number;
  private readonly drainBytes: number;
  private readonly userAgent: string;
  private readonly now: () => number;
  private readonly monotonic: () => number;

  constructor(options: HttpSenderOptions = {}) {
    this.guard = new SsrfGuard({ allow: options.allow, resolve: options.resolve });
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? SENDER_DEFAULTS.maxRetryAfterMs;
    this.excerptBytes = options.excerptBytes ?? SENDER_DEFAULTS.excerptBytes;
    this.drainBytes = Math.max(options.drainBytes ?? SENDER_DEFAULTS.drainBytes, this.excerptBytes);
    this.userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.agent = new Agent({
      connections: options.connectionsPerOrigin ?? SENDER_DEFAULTS.connectionsPerOrigin,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? SENDER_DEFAULTS.keepAliveTimeoutMs,
      keepAliveMaxTimeout: options.keepAliveMaxTimeoutMs ?? SENDER_DEFAULTS.keepAliveMaxTimeoutMs,
      // One request per connection at a time: `connections` then bounds concurrency per origin, and a
      // slow response never stalls another request queued behind it on the same socket.
      pipelining: 1,
      // Every socket, plain or TLS, resolves through the guard: the address checked is the address used.
      connect: {
        lookup: this.guard.lookup,
        timeout: options.connectTimeoutMs ?? SENDER_DEFAULTS.connectTimeoutMs,
        allowH2: false,
      },
    });
  }

  async send(input: SendInput): Promise<SendOutcome> {
    const { webhook, batch } = input;
    const started = this.monotonic();
    const at = input.now ?? this.now();
    const timeoutMs = webhook.timeout_ms > 0 ? webhook.timeout_ms : LIMITS.defaultTimeoutMs;
    const finish = (partial: Partial<SendOutcome> & Pick<SendOutcome, 'kind'>): SendOutcome => ({
      status: null,
      error: null,
      retryAfterMs: null,
      responseExcerpt: null,
      ...partial,
      latencyMs: Math.max(0, Math.round(this.monotonic() - started)),
    });

    const target = this.target(webhook.url);
    if (!target.ok) return finish({ kind: 'refused', error: target.reason });
    const body = batchBodyBytes(batch);
    const signed = signRequest({
      id: batch.batch_id,
      timestampSec: Math.floor(at / 1000),
      body,
      secrets: activeSecrets(webhook, at),
    });
    if (!signed.ok) return finish({ kind: 'refused', error: signed.reason });

    const headers: Record<string, string> = {
      [HEADERS.contentType]: CONTENT_TYPES[batch.format] ?? CONTENT_TYPES.json,
      [HEADERS.userAgent]: this.userAgent,
      ...signed.headers,
    };
    if (input.traceparent !== undefined) headers[HEADERS.traceparent] = input.traceparent;
    let path = target.path;
    if (webhook.auth?.type === 'token') {
      const url = new URL(webhook.url);
      url.searchParams.set(webhook.auth.param, webhook.auth.value);
      path = `${url.pathname}${url.search}`;
    }
    if (webhook.auth?.type === 'basic')
      headers[HEADERS.authorization] =
        `Basic ${Buffer.from(`${webhook.auth.username}:${webhook.auth.password}`, 'utf8').toString('base64')}`;
    const redact = redactor(webhook);

    let response: Exchanged | typeof TIMEOUT;
    try {
      response = await exchange(
        this.agent,
        {
          origin: target.origin,
          path,
          method: 'POST',
          headers,
          body,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
        },
        { keep: this.excerptBytes, drain: this.drainBytes, timeoutMs },
      );
    } catch (error) {
      if (isSsrfError(error)) return finish({ kind: 'refused', error: redact(ssrfMessage(error)) });
      if (isTimeout(error)) return finish({ kind: 'retry', error: `timeout after ${timeoutMs} ms` });
      return finish({ kind: 'retry', error: redact(describeError(error)) });
    }
    if (response === TIMEOUT) return finish({ kind: 'retry', error: `timeout after ${timeoutMs} ms` });

    const status = response.status;
    const excerpt = response.excerpt === null ? null : DECODER.decode(response.excerpt);
    // undici puts the socket back in the pool a tick after the body ends; yielding once here means a
    // caller's next send to this origin finds it idle instead of opening another connection.
    await setImmediate();
    const responseExcerpt = excerpt === null ? null : redact(excerpt);
    if (status >= 200 && status < 300) return finish({ kind: 'delivered', status, responseExcerpt });
    if (status === 410) return finish({ kind: 'gone', status, error: 'HTTP 410 Gone', responseExcerpt });
    if (status >= 300 && status < 400)
      return finish({
        kind: 'retry',
        status,
        error: `HTTP ${status}: redirect not followed`,
        responseExcerpt,
      });
    let retryAfterMs: number | null = null;
    if (status === 429 || status === 503) {
      const parsed = parseRetryAfter(response.headers['retry-after'], this.now());
      retryAfterMs = parsed === null ? null : Math.min(parsed, this.maxRetryAfterMs);
    }
    return finish({ kind: 'retry', status, error: `HTTP ${status}`, retryAfterMs, responseExcerpt });
  }

  /**
   * The static check of a webhook's URL and where it sends to, per URL string: the check is a pure
   * function of the string and this sender's policy, and parsing the URL was ~3 % of the delivery
   * service's CPU at one event per request. Literal IP hosts never reach the lookup, so this check is
   * what guards them. Bounded: the oldest entry goes first.
   */
  private target(url: string): Target {
    let target = this.targets.get(url);
    if (!target) {
      const checked = this.guard.checkUrl(url);
      target = checked.ok
        ? { ok: true, origin: checked.url.origin, path: `${checked.url.pathname}${checked.url.search}` }
        : checked;
      if (this.targets.size >= MAX_TARGETS) this.targets.delete(this.targets.keys().next().value!);
      this.targets.set(url, target);
    }
    return target;
  }

  /** Closes pooled connections; in-flight requests finish first (each is bounded by its timeout). */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

/**
 * Retry-After as delay-seconds or an HTTP date, in ms from `nowMs`; null when absent or unreadable.
 * A date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | null {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return null;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse alone accepts nearly anything ("-5" is a year); an HTTP date starts with a day name
  // and carries a time of day in all three formats RFC 9110 lists.
  if (!/^[A-Za-z]{3,9},? .*\d{2}:\d{2}:\d{2}/.test(text)) return null;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - nowMs);
}

function isTimeout(error: unknown): boolean {
  const e = error as { code?: unknown; name?: unknown };
  return TIMEOUT_CODES.has(String(e?.code)) || e?.name === 'TimeoutError';
}

function ssrfMessage(error: unknown): string {
  for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause)
    if ((e as { name?: unknown }).name === 'SsrfError') return (e as Error).message;
  return 'refused by the SSRF policy';
}

/**
 * `CODE: message` of the most specific cause: undici wraps socket errors (`UND_ERR_SOCKET: other side
 * closed`) and net wraps parallel connection attempts in an AggregateError; the errno code inside
 * (ECONNRESET, ECONNREFUSED, ENOTFOUND) is what an operator looks for.
 */
function describeError(error: unknown): string {
  let e = error as { code?: unknown; message?: unknown; cause?: unknown; errors?: unknown[] } | undefined;
  for (let depth = 0; e && depth < 5; depth += 1) {
    const inner = (e.cause ?? e.errors?.[0]) as typeof e;
    const innerCode = inner?.code;
    if (typeof innerCode !== 'string' || !/^E[A-Z]+$/.test(innerCode)) break;
    e = inner;
  }
  const code = typeof e?.code === 'string' ? e.code : 'ERROR';
  const message = typeof e?.message === 'string' && e.message ? e.message : 'request failed';
  return `${code}: ${message}`.slice(0, 300);
}

/**
 * Defence in depth for text we did not write (error messages of libraries, response bodies that might
 * echo our query string): every secret of the webhook is replaced before the text leaves this class.
 */
function redactor(webhook: SendInput['webhook']): (text: string) => string {
  // Per secrets list (and auth), as the subscription table holds them: building it was ~0.5 KB and a
  // sort per attempt, and a webhook's list changes only when the table replaces its document.
  const cached = REDACTORS.get(webhook.secrets);
  if (cached && cached.auth === webhook.auth && cached.count === webhook.secrets.length) return cached.redact;
  const secrets = webhook.secrets.map((s) => s.value);
  if (webhook.auth?.type === 'basic') secrets.push(webhook.auth.password);
  if (webhook.auth?.type === 'token') {
    // Also as it appears in the query string, in case a receiver echoes the request URL.
    secrets.push(webhook.auth.value, new URLSearchParams([['', webhook.auth.value]]).toString().slice(1));
  }
  const distinct = [...new Set(secrets.filter((s) => s.length > 0))].sort((a, b) => b.length - a.length);
  const redact = (text: string) =>
    distinct.reduce((out, secret) => out.split(secret).join('[redacted]'), text);
  REDACTORS.set(webhook.secrets, { auth: webhook.auth, count: webhook.secrets.length, redact });
  return redact;
}

const REDACTORS = new WeakMap<
  SendInput['webhook']['secrets'],
  { auth: SendInput['webhook']['auth']; count: number; redact: (text: string) => string }
>();
