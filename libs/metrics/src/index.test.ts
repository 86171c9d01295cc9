import { afterEach, describe, expect, it } from 'vitest';
import { Counter, createRegistry, type OpsServer, startOpsServer } from './index.ts';

let server: OpsServer | undefined;
afterEach(async () => server?.close());

describe('ops server', () => {
  it('serves metrics from the injected registry and reports readiness', async () => {
    const registry = createRegistry({ service: 'test' });
    new Counter({ name: 'webhooks_things_total', help: 'things', registers: [registry] }).inc(3);
    let ready = false;
    server = await startOpsServer({ registry, port: 0, host: '127.0.0.1', ready: () => ready });
    const base = `http://127.0.0.1:${server.port}`;
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toContain('webhooks_things_total{service="test"} 3');
    expect(metrics).toContain('process_cpu_seconds_total');
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(503);
    ready = true;
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
  });
});
