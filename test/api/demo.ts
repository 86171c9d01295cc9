/**
 * `npm start` run by a test, as a newcomer runs it: `bash scripts/hp start` with no KAFKA_BROKERS, so it
 * starts a stack of its own (on ports and a data dir of its own, not the suite's broker: the demo's
 * topics and consumer groups have fixed names) and stops it again. Everything it prints is kept, so a
 * test can wait for the story (a batch delivered, the webhook suspended) and check what the log holds.
 * Stopped by pid: SIGTERM to the start script (which stops its services and then its stack), SIGKILL
 * to whatever of it outlives a bound, then stack.sh stop on its pid files.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { waitFor } from '../support/env.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
/**
 * Ports of this test's demo and stack, clear of the suite's stack (19092…) and of the fault test's
 * (29092…), and below the kernel's ephemeral range (32768–60999): the suite's own servers listen on
 * port 0, and one of them took the batcher's ops port when these were 38070….
 */
const PORTS = {
  DEMO_API_PORT: '31090',
  DEMO_RECEIVER_PORT: '31080',
  DEMO_OPS_PORT: '31070',
  HP_KAFKA_PORT: '31092',
  HP_CONTROLLER_PORT: '31093',
  HP_REGISTRY_PORT: '31181',
  HP_REGISTRY_MANAGEMENT_PORT: '31182',
};
/** What the services of the demo read that a test run's environment may hold for the suite's broker. */
const SUITE_ONLY = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'TOPIC_PREFIX', 'TOPIC_PARTITIONS'];

export interface Demo {
  /** Every line `npm start` printed so far (its own story lines and its services' log lines). */
  lines: string[];
  /** The first line matching `pattern`, once printed (the demo exiting first fails the wait). */
  line(pattern: RegExp, what: string, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The demo's token file, where `npm start` keeps it for this run. */
  secrets(): { apiToken: string };
  stop(): Promise<void>;
}

export function startDemo(): Demo {
  const dir = mkdtempSync(join(tmpdir(), 'hookpost-demo-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...PORTS,
    HP_DATA_DIR: join(dir, 'stack'),
    DEMO_DATA_DIR: join(dir, 'demo'),
    // A start bound for a loaded machine (the shared CI box has seen Kafka need over 120 s).
    HP_STACK_TIMEOUT: process.env.HP_STACK_TIMEOUT ?? '300',
    // Info, not the demo's default (errors only): every request line the API logs is then checked for the token.
    LOG_LEVEL: 'info',
  };
  for (const k of SUITE_ONLY) delete env[k];
  const child: ChildProcess = spawn('bash', ['scripts/hp', 'start'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout!, child.stderr!])
    createInterface({ input: stream }).on('line', (l) => lines.push(l));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const running = () => child.exitCode === null && child.signalCode === null;

  const line = async (pattern: RegExp, what: string, timeoutMs = 120_000) =>
    waitFor(
      () => {
        for (const l of lines) {
          const m = pattern.exec(l);
          if (m) return m;
        }
        if (!running()) throw new Error(`npm start exited: ${lines.slice(-30).join('\n')}`);
        return undefined;
      },
      { timeoutMs, what },
    );

  const stop = async () => {
    if (running()) {
      child.kill('SIGTERM');
      // The start script gives its services 30 s before it SIGKILLs them, then stops the stack.
      const bound = setTimeout(() => child.kill('SIGKILL'), 120_000);
      await exited;
      clearTimeout(bound);
    }
    // Services of a start script that died without stopping them: their own log lines give their pids.
    for (const pid of servicePids(lines, dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await promisify(execFile)('bash', ['scripts/stack.sh', 'stop'], { cwd: ROOT, env }).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };

  return {
    lines,
    line,
    secrets: () =>
      JSON.parse(readFileSync(join(dir, 'demo', 'secrets.json'), 'utf8')) as { apiToken: string },
    stop,
  };
}

/**
 * Pids of this demo's services still alive, from the `"pid":N` of their JSON log lines; a pid counts only
 * while its process has this demo's data dir in its environment (a pid reused since is left alone).
 */
function servicePids(lines: string[], dir: string): number[] {
  const pids = new Set<number>();
  for (const l of lines) {
    const m = /^\s+\[[\w-]+\] \{.*"pid":(\d+),/.exec(l);
    if (m) pids.add(Number(m[1]));
  }
  return [...pids].filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`DEMO_DATA_DIR=${join(dir, 'demo')}`);
    } catch {
      return false;
    }
  });
}
