/** Names and defaults of the sender in one place: header names, limits, the SSRF error code. */

/** Request headers hookpost sets. `Signature` keeps MailerSend's spelling; the rest follow Standard Webhooks. */
export const HEADERS = {
  signature: 'Signature',
  webhookId: 'webhook-id',
  webhookTimestamp: 'webhook-timestamp',
  webhookSignature: 'webhook-signature',
  contentType: 'Content-Type',
  userAgent: 'User-Agent',
  authorization: 'Authorization',
  /** W3C Trace Context of the delivery attempt, when tracing is on (docs/tracing.md). */
  traceparent: 'traceparent',
} as const;

export const CONTENT_TYPES = { json: 'application/json', jsonl: 'application/x-ndjson' } as const;

/** Standard Webhooks secret form: `whsec_` + base64 of 24–64 random bytes. */
export const SECRET_PREFIX = 'whsec_';
export const SECRET_MIN_BYTES = 24;
export const SECRET_MAX_BYTES = 64;

/** Error code of a connection the SSRF guard refused; stable so callers can tell it from network errors. */
export const SSRF_ERROR_CODE = 'EHOOKPOST_SSRF';

export const SENDER_DEFAULTS = {
  /** Connections per origin: one slow receiver cannot take more than this many sockets. */
  connectionsPerOrigin: 16,
  /** Idle keep-alive; receivers' own hints (Keep-Alive: timeout=) win when shorter. */
  keepAliveTimeoutMs: 4_000,
  keepAliveMaxTimeoutMs: 60_000,
  connectTimeoutMs: 10_000,
  /** A receiver asking for more than this gets it capped, so a batch is not parked for days. */
  maxRetryAfterMs: 60 * 60 * 1000,
  /** What is kept of a response body for the attempt history. */
  excerptBytes: 1024,
  /**
   * How much of a response body is read and thrown away so the connection can be reused; a longer
   * body costs the connection instead (it is destroyed) rather than time and bandwidth.
   */
  drainBytes: 64 * 1024,
} as const;
