import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';

/** A port nothing listens on: bind one, note it, close it. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

function runDemo(env: Record<string, string>) {
  const child = spawn(process.execPath, ['services/demo/src/main.ts'], {
    env: { ...process.env, HTTP_PORT: '0', LOG_LEVEL: 'error', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const started = Date.now();
  return new Promise<{ code: number | null; output: string; ms: number }>((resolve) =>
    child.on('exit', (code) => resolve({ code, output, ms: Date.now() - started })),
  );
}

describe('a service started with Kafka down', () => {
  it('exits non-zero within the bound with a message naming the brokers', async () => {
    const port = await deadPort();
    const { code, output, ms } = await runDemo({
      KAFKA_BROKERS: `127.0.0.1:${port}`,
      KAFKA_CONNECT_TIMEOUT_MS: '4000',
    });
    expect(code).toBe(1);
    expect(output).toContain(`demo: cannot reach Kafka at 127.0.0.1:${port}`);
    expect(ms).toBeLessThan(20_000);
  });

  it('exits with code 2 naming the key when the configuration is bad', async () => {
    const { code, output } = await runDemo({ KAFKA_BROKERS: 'not a broker list' });
    expect(code).toBe(2);
    expect(output).toMatch(/kafka\.brokers.*KAFKA_BROKERS/);
  });
});
