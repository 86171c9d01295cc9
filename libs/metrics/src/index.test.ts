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

  it('a detailed check names what fails in the probe body, and nothing once it passes', async () => {
    let failing = ['consumer subscriptions', 'input consumer not running'];
    server = await startOpsServer({
      registry: createRegistry({ service: 'test' }),
      port: 0,
      host: '127.0.0.1',
      ready: () => ({ ok: failing.length === 0, failing }),
    });
    const readyz = () => fetch(`http://127.0.0.1:${server!.port}/readyz`);
    const notReady = await readyz();
    expect(notReady.status).toBe(503);
    expect(await notReady.json()).toEqual({ status: 'unavailable', failing });
    failing = [];
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ok' });
  });
});
