/**
 * Configuration: a convict schema per service, validated once at start-up by the composition root.
 * Every key has a doc, a default, an env var and a format; a bad value stops start-up with a message
 * that names the key and its env var, never the offending value when the key is sensitive.
 */
import convict from 'convict';

export type Schema<T> = convict.Schema<T>;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
}

export interface LoadOptions {
  /** Environment to read; defaults to an empty object so nothing leaks in from process.env by accident. */
  env?: Record<string, string | undefined>;
  /** Values that win over env and defaults (tests, CLIs). */
  overrides?: Record<string, unknown>;
}

/** Loads and validates; throws ConfigError naming every bad key (with its env var) at once. */
export function loadConfig<T>(schema: Schema<T>, options: LoadOptions = {}): T {
  let config: convict.Config<T>;
  try {
    config = convict(schema, { env: cleanEnv(options.env ?? {}), args: [] });
    if (options.overrides) config.load(options.overrides as never);
    config.validate({ allowed: 'strict' });
  } catch (error) {
    throw new ConfigError(describe(schema, (error as Error).message));
  }
  return config.getProperties();
}

function cleanEnv(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && v !== '') out[k] = v;
  return out;
}

/** convict reports `key: reason: value "x"`; add the env var and hide values of sensitive keys. */
function describe(schema: unknown, message: string): string {
  const lines = message.split('\n').map((line) => {
    const key = line.split(':')[0]?.trim() ?? '';
    const node = lookup(schema, key);
    const env = node && typeof node === 'object' && 'env' in node ? ` (env ${String(node.env)})` : '';
    const sensitive = node && typeof node === 'object' && 'sensitive' in node && node.sensitive === true;
    const text = sensitive ? line.replace(/: value was .*$/s, '') : line;
    return `${text}${env}`;
  });
  return `invalid configuration: ${lines.join('; ')}`;
}

function lookup(schema: unknown, dotted: string): unknown {
  let node: unknown = schema;
  for (const part of dotted.split('.')) {
    if (!node || typeof node !== 'object' || !(part in node)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

/** Keys every service shares: where Kafka and the registry are, logging, and the ops HTTP port. */
export const commonSchema = {
  kafka: {
    brokers: {
      doc: 'Kafka bootstrap servers, comma separated host:port. Defaults to the local stack (scripts/stack.sh).',
      format: 'brokerList',
      default: '127.0.0.1:19092',
      env: 'KAFKA_BROKERS',
    },
    clientId: {
      doc: 'Kafka client id prefix; the service name is appended.',
      format: String,
      default: 'hookpost',
      env: 'KAFKA_CLIENT_ID',
    },
    connectTimeoutMs: {
      doc: 'How long start-up waits for the first broker connection before failing with a clear message.',
      format: 'nat',
      default: 15000,
      env: 'KAFKA_CONNECT_TIMEOUT_MS',
    },
  },
  registry: {
    url: {
      doc: 'Confluent-compatible schema registry base URL. Defaults to the local Apicurio (ccompat v7 API).',
      format: 'url',
      default: 'http://127.0.0.1:18081/apis/ccompat/v7',
      env: 'SCHEMA_REGISTRY_URL',
    },
  },
  topics: {
    prefix: {
      doc: 'Prefix of every topic name (tests and side-by-side environments use it to stay apart).',
      format: String,
      default: '',
      env: 'TOPIC_PREFIX',
    },
    partitions: {
      doc: 'Partitions of the partitioned data topics when this service provisions them.',
      format: 'nat',
      default: 12,
      env: 'TOPIC_PARTITIONS',
    },
  },
  log: {
    level: {
      doc: 'pino log level.',
      format: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
      env: 'LOG_LEVEL',
    },
  },
  http: {
    port: {
      doc: 'Port of the ops HTTP server (/metrics, /healthz, /readyz); 0 picks a free port.',
      format: 'port',
      default: 9464,
      env: 'HTTP_PORT',
    },
    host: {
      doc: 'Interface the ops HTTP server binds to.',
      format: String,
      default: '0.0.0.0',
      env: 'HTTP_HOST',
    },
  },
} as const;

export interface CommonConfig {
  kafka: { brokers: string; clientId: string; connectTimeoutMs: number };
  registry: { url: string };
  topics: { prefix: string; partitions: number };
  log: { level: string };
  http: { port: number; host: string };
}

convict.addFormat({
  name: 'brokerList',
  validate(value: unknown) {
    if (typeof value !== 'string' || value.trim() === '')
      throw new Error('must be a comma separated list of host:port');
    for (const part of value.split(',')) {
      if (!/^[^\s:,]+:\d{1,5}$/.test(part.trim())) throw new Error(`"${part.trim()}" is not host:port`);
    }
  },
});

convict.addFormat({
  name: 'url',
  validate(value: unknown) {
    if (typeof value !== 'string' || !URL.canParse(value)) throw new Error('must be an absolute URL');
  },
});

export function brokerList(brokers: string): string[] {
  return brokers.split(',').map((b) => b.trim());
}
export { renderConfigReference, type SchemaSource } from './reference.ts';
