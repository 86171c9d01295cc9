import { type ChildProcess, spawn } from 'node:child_process';
import { SERVICE_ENV, serviceNodeArgs } from '@hookpost/service';
import { waitFor } from './env.ts';

export interface RunningProcess {
  child: ChildProcess;
  output: () => string;
  /** The ops port, once the service logged that it started. */
  port: () => number | undefined;
  ready(timeoutMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Spawns the real service (`node services/<name>/src/main.ts`) with the given env, ops server on a
 * free port. Tests kill it in afterAll; `kill('SIGKILL')` is the crash the exactly-once tests need.
 *
 * A batcher reads webhooks.dispatch here unless the test says otherwise: most suites run the
 * two-stage pipeline (a fan-out beside the batcher, or dispatch records written by the test). The
 * product's default, BATCHER_INPUT=events, has its own suite (test/pipeline/batcher-events.test.ts)
 * and the suites that pass it.
 */
export function spawnService(name: string, env: Record<string, string>): RunningProcess {
  const entry = `services/${name}/src/main.ts`;
  const child = spawn(process.execPath, [...serviceNodeArgs(entry), entry], {
    env: {
      ...process.env,
      ...SERVICE_ENV,
      HTTP_PORT: '0',
      HTTP_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      ...(name === 'batcher' && { BATCHER_INPUT: 'dispatch' }),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let port: number | undefined;
  const onData = (d: Buffer) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
    if (port === undefined) {
      const m = /"port":(\d+)[^\n]*started"/.exec(output);
      if (m) port = Number(m[1]);
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => output,
    port: () => port,
    ready: async (timeoutMs = 45_000) => {
      await waitFor(
        async () => {
          if (child.exitCode !== null)
            throw new Error(`${name} exited ${child.exitCode}: ${output.slice(-2000)}`);
          if (port === undefined) return false;
          const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          return res?.status === 200;
        },
        { timeoutMs, what: `${name} ready` },
      );
    },
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

export async function metricsText(p: RunningProcess): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${p.port()}/metrics`);
  return res.text();
}

/** Sum of a counter's samples in Prometheus text (all label sets). */
export function metricValue(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.split(' ').at(-1));
  }
  return sum;
}
