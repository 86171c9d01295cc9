/**
 * Two local stacks on one host (a CI run beside a developer's, a bench beside the tests): every port
 * the stack opens is configurable and bound to 127.0.0.1, and a start that cannot complete stops what
 * it started and says why in one line. Runs beside the stack the suite itself uses, so a port that
 * stack.sh forgot to make configurable (Apicurio's management interface once bound 0.0.0.0:9000)
 * collides for real.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
// Only `opened` of the fixtures: this file runs private stacks, not the suite's test env.
import { it, type Owner } from '../support/fixtures.ts';

const STACK = new URL('../../scripts/stack.sh', import.meta.url).pathname;
const CACHE = new URL('../../.cache', import.meta.url).pathname;

/** A port nothing listens on now (the kernel's pick), optionally kept open by `opened` for the test. */
async function port(opened?: Owner): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  if (opened) opened.own(server, (s: Server) => new Promise((r) => s.close(r)));
  else await new Promise((r) => server.close(r));
  return port;
}

/** A private stack's settings; `opened` stops that stack (if it runs) and removes its data dir after the test. */
async function stackEnv(
  opened: Owner,
  overrides: Record<string, string> = {},
): Promise<Record<string, string>> {
  const dir = opened.own(mkdtempSync(join(tmpdir(), 'hookpost-stack-')), (d) => {
    spawnSync('bash', [STACK, 'stop'], { env: { ...process.env, HP_DATA_DIR: d }, stdio: 'ignore' });
    rmSync(d, { recursive: true, force: true });
  });
  return {
    HP_DATA_DIR: dir,
    HP_CACHE_DIR: CACHE,
    HP_KAFKA_PORT: String(await port()),
    HP_CONTROLLER_PORT: String(await port()),
    HP_REGISTRY_PORT: String(await port()),
    HP_REGISTRY_MANAGEMENT_PORT: String(await port()),
    ...overrides,
  };
}

function stack(command: string, env: Record<string, string>) {
  const r = spawnSync('bash', [STACK, command], { env: { ...process.env, ...env }, encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** Local addresses listening on `p`, as `ss` prints them. */
function listeners(p: string): string[] {
  const out = spawnSync('ss', ['-Hltn', `sport = :${p}`], { encoding: 'utf8' }).stdout;
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => l.trim().split(/\s+/)[3]!);
}

const stackPorts = (e: Record<string, string>) =>
  [e.HP_KAFKA_PORT, e.HP_CONTROLLER_PORT, e.HP_REGISTRY_PORT, e.HP_REGISTRY_MANAGEMENT_PORT] as string[];

describe('scripts/stack.sh beside another stack', () => {
  it('starts a second stack on its own ports, every one bound to 127.0.0.1, and stops it by pid', async ({
    opened,
  }) => {
    const env = await stackEnv(opened);
    const started = stack('start', env);
    expect(started.status, started.stderr).toBe(0);
    expect(stack('status', env).status).toBe(0);
    for (const p of stackPorts(env)) {
      const addrs = listeners(p);
      expect(addrs.length, `port ${p}`).toBeGreaterThan(0);
      for (const a of addrs) expect(a, `port ${p}`).toMatch(/^(127\.0\.0\.1|\[::ffff:127\.0\.0\.1\]):/);
    }
    expect(stack('stop', env).status).toBe(0);
    for (const p of stackPorts(env)) expect(listeners(p), `port ${p}`).toEqual([]);
  }, 180_000);

  it('refuses a taken port before starting anything, in one line naming the setting', async ({ opened }) => {
    const taken = String(await port(opened));
    const env = await stackEnv(opened, { HP_REGISTRY_MANAGEMENT_PORT: taken });
    const r = stack('start', env);
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`port ${taken}`);
    expect(lines[0]).toContain('HP_REGISTRY_MANAGEMENT_PORT');
    expect(listeners(env.HP_KAFKA_PORT!)).toEqual([]);
  }, 60_000);

  it('stops the Kafka it started when the registry dies during start-up, and names the cause', async ({
    opened,
  }) => {
    // A heap too small for the JVM to start: the registry exits at once.
    const env = await stackEnv(opened, { HP_REGISTRY_HEAP: '2m' });
    const r = stack('start', env);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /registry exited during start-up: .*heap|registry exited during start-up: .*VM/i,
    );
    expect(r.stderr).toContain('stopped what it had started (kafka registry)');
    expect(r.stderr).not.toMatch(/\n\s+at /); // no Java stack trace
    for (const p of stackPorts(env)) expect(listeners(p), `port ${p}`).toEqual([]);
    expect(stack('status', env).status).toBe(1);
  }, 180_000);
});
