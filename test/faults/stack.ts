/**
 * A stack of the fault test's own (scripts/stack.sh with its own ports and HP_DATA_DIR), so its broker
 * can be SIGKILLed and started again on the same data without touching the shared stack the rest of
 * the suite uses. Everything it starts is stopped by pid (stack.sh's pid files).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../support/env.ts';

const run = promisify(execFile);
const STACK = new URL('../../scripts/stack.sh', import.meta.url).pathname;
const CACHE = new URL('../../.cache', import.meta.url).pathname;
/** The shared stack's ports: a fault stack on them would kill the broker every other test uses. */
const SHARED = new Set(['19092', '19093', '18081', '18082']);

export interface PrivateStack {
  dataDir: string;
  brokers: string;
  registryUrl: string;
  /** Starts whatever of Kafka and the registry is not running; resolves once both are ready. */
  start(): Promise<void>;
  /** SIGKILLs the broker (pid from its pid file) and resolves once the process is gone. */
  killBroker(): Promise<number>;
  /** Stops both by pid; removes the data directory unless `keep`. */
  stop(keep: boolean): Promise<void>;
}

function port(name: string, fallback: number): string {
  const p = process.env[name] ?? String(fallback);
  if (SHARED.has(p)) throw new Error(`${name}=${p} is a port of the shared stack; pick another`);
  return p;
}

/** A live process, not a zombie: a SIGKILLed broker nobody reaped yet counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function privateStack(): PrivateStack {
  const dataDir = mkdtempSync(join(tmpdir(), 'hookpost-faults-'));
  // Below the kernel's ephemeral range, so no client socket can take the port while the broker is down.
  const env = {
    ...process.env,
    HP_DATA_DIR: dataDir,
    HP_CACHE_DIR: process.env.HP_CACHE_DIR ?? CACHE,
    // A start bound for busy machines (a CI box shared with other jobs saw Kafka need over 120 s).
    HP_STACK_TIMEOUT: process.env.HP_STACK_TIMEOUT ?? '300',
    HP_KAFKA_PORT: port('FAULTS_KAFKA_PORT', 29092),
    HP_CONTROLLER_PORT: port('FAULTS_CONTROLLER_PORT', 29093),
    HP_REGISTRY_PORT: port('FAULTS_REGISTRY_PORT', 28081),
    HP_REGISTRY_MANAGEMENT_PORT: port('FAULTS_REGISTRY_MANAGEMENT_PORT', 28082),
  };
  const stack = async (command: string) => {
    try {
      await run('bash', [STACK, command], { env, maxBuffer: 1 << 20 });
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new Error(`stack.sh ${command}: ${e.stderr?.trim() || e.message}`);
    }
  };
  return {
    dataDir,
    brokers: `127.0.0.1:${env.HP_KAFKA_PORT}`,
    registryUrl: `http://127.0.0.1:${env.HP_REGISTRY_PORT}/apis/ccompat/v7`,
    start: () => stack('start'),
    killBroker: async () => {
      const pid = Number(readFileSync(join(dataDir, 'kafka.pid'), 'utf8'));
      // The pid file's process must be this stack's broker (stack.sh marks its command line).
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmdline.includes('hookpost-stack=kafka') || !cmdline.includes(dataDir))
        throw new Error(`pid ${pid} is not this test's broker`);
      process.kill(pid, 'SIGKILL');
      await waitFor(() => !alive(pid), { what: `broker pid ${pid} gone`, timeoutMs: 30_000 });
      return pid;
    },
    stop: async (keep) => {
      if (existsSync(dataDir)) await stack('stop').catch(() => {});
      if (!keep) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
