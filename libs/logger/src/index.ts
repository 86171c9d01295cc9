/**
 * Structured JSON logs (pino). One root logger per process, created by the composition root; every
 * component takes a child with its own bindings (component, webhook id, batch id, topic/partition).
 * Secrets are redacted by path so that a careless `log.info({ webhook })` cannot leak them.
 */
import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths whose values never reach a log line. */
const REDACT_PATHS = [
  'secret',
  'secrets',
  'signingSecret',
  'signing_secret',
  'password',
  'token',
  'authorization',
  'encryptionKey',
  '*.secret',
  '*.secrets',
  '*.signingSecret',
  '*.signing_secret',
  '*.password',
  '*.token',
  '*.authorization',
  '*.encryptionKey',
  '*.headers.authorization',
  '*.headers.Authorization',
  'req.headers.authorization',
];

export interface LoggerOptions {
  name: string;
  level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to inspect output. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      base: { service: options.name, pid: process.pid, ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  );
}
