/**
 * Metrics and the ops HTTP surface. The composition root creates one Registry and passes it down;
 * components register their metrics on it (never on prom-client's global registry), named
 * `webhooks_<noun>_<unit|total>` with bounded labels only.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';
export { BoundCounter, BoundHistogram, type CounterSeries, type HistogramSeries } from './series.ts';

export function createRegistry(labels: Record<string, string> = {}): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  return registry;
}

export type Check = () => boolean | Promise<boolean>;

/** A check's answer with what failed, for the probe's body (names of parts, never values). */
export interface CheckDetail {
  ok: boolean;
  /** e.g. consumers down, or the service's own check. */
  failing?: string[];
}

export type DetailedCheck = () => boolean | CheckDetail | Promise<boolean | CheckDetail>;

export interface OpsServerOptions {
  registry: Registry;
  port: number;
  host?: string;
  /** Liveness: the process can make progress. Defaults to always true. */
  healthy?: DetailedCheck;
  /** Readiness: caught up and able to serve (e.g. subscription table loaded, consumer running). */
  ready?: DetailedCheck;
}

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz and /readyz. Resolves once listening (port 0 picks a free port). */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const healthy = options.healthy ?? (() => true);
  const ready = options.ready ?? (() => true);
  const server: Server = createServer(async (req, res) => {
    try {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405).end();
      } else if (path === '/metrics') {
        const body = await options.registry.metrics();
        res.writeHead(200, { 'content-type': options.registry.contentType }).end(body);
      } else if (path === '/healthz' || path === '/readyz') {
        const answer = await (path === '/healthz' ? healthy : ready)();
        const { ok, failing } = typeof answer === 'boolean' ? { ok: answer, failing: undefined } : answer;
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ok ? 'ok' : 'unavailable', ...(!ok && failing && { failing }) }));
      } else {
        res.writeHead(404).end();
      }
    } catch {
      res.writeHead(500).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
