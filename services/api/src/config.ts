/** Configuration of the management API: the common keys plus its own, every one documented. */
import { type CommonConfig, commonSchema } from '@hookpost/config';
import { type SsrfConfig, ssrfSchema } from '@hookpost/sender';
import { subscriptionsSchema } from '@hookpost/subscriptions';
import { parseTokens } from './auth.ts';

export const apiSchema = {
  ...commonSchema,
  api: {
    port: {
      doc: 'Port of the management API; 0 picks a free port.',
      format: 'port',
      default: 8080,
      env: 'API_PORT',
    },
    host: {
      doc: 'Interface the management API binds to.',
      format: String,
      default: '0.0.0.0',
      env: 'API_HOST',
    },
    tokens: {
      doc: 'Bearer tokens, stored hashed: a JSON list of {"name","sha256" (hex of the token),"domains" (domain ids, "*" for all),"access" ("read" | "read-write")}.',
      format: (value: unknown) => {
        parseTokens(String(value));
      },
      default: '[]',
      env: 'API_TOKENS',
      sensitive: true,
    },
    bodyLimitBytes: {
      doc: 'Largest request body accepted; larger bodies answer 413.',
      format: 'nat',
      default: 65_536,
      env: 'API_BODY_LIMIT_BYTES',
    },
    secretGraceMs: {
      doc: 'After a secret rotation, how long the old signing secret keeps signing beside the new one.',
      format: 'nat',
      default: 24 * 60 * 60 * 1000,
      env: 'API_SECRET_GRACE_MS',
    },
    dataDir: {
      doc: 'Directory of the embedded delivery-history store (SQLite); keep it on a persistent volume.',
      format: String,
      default: '.data/api',
      env: 'API_DATA_DIR',
    },
    grafanaUrl: {
      doc: 'Grafana dashboard the console overview links to for depth; empty for no link.',
      format: String,
      default: 'http://127.0.0.1:3000/d/hookpost',
      env: 'API_GRAFANA_URL',
    },
    historyDays: {
      doc: 'Days of delivery attempts kept and served by GET /v1/webhooks/{id}/attempts.',
      format: 'nat',
      default: 7,
      env: 'API_HISTORY_DAYS',
    },
  },
  ssrf: ssrfSchema,
  subscriptions: subscriptionsSchema,
};

export interface ApiConfig extends CommonConfig {
  api: {
    port: number;
    host: string;
    tokens: string;
    bodyLimitBytes: number;
    secretGraceMs: number;
    dataDir: string;
    historyDays: number;
    grafanaUrl: string;
  };
  ssrf: SsrfConfig;
  subscriptions: { encryptionKeys: string };
}
