/**
 * The services under test, each as its own process as production runs them: spawn with env, wait for
 * /readyz, scrape /metrics, read CPU time and peak RSS from /proc, stop by pid (SIGTERM, then SIGKILL
 * past a bound). Output goes to a log file per service under bench/out/.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { SERVICE_ENV, serviceNodeArgs } from '@hookpost/service';

const root = new URL('..', import.meta.url).pathname;

export interface ServiceSpec {
  name: string;
  entry: string;
  env: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof). */
  nodeArgs?: string[];
}

export interface ProcStats {
  cpuSeconds: number;
  peakRssMiB: number;
}

export interface Service {
  name: string;
  pid: number;
  port: number;
  child: ChildProcess;
  ready(timeoutMs?: number): Promise<void>;
  /** Metric samples: `name{labels}` (labels as printed) → value. */
  scrape(): Promise<Map<string, number>>;
  /** CPU time so far and the peak RSS of the whole run (VmHWM, with the peaks of earlier phases). */
  stats(): ProcStats;
  /**
   * Starts a phase's peak: folds VmHWM into the run's peak, then resets it to the current RSS
   * (`/proc/<pid>/clear_refs` 5). False when the kernel refused the reset: `phasePeakMiB` then
   * still counts from the process's start.
   */
  resetPeak(): boolean;
  /** Peak RSS since the last `resetPeak` (VmHWM). */
  phasePeakMiB(): number;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (released before returning; the race is acceptable for a bench). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
  return port;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

/** utime + stime and VmHWM of a live process, from /proc. */
export function procStats(pid: number): ProcStats {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return { cpuSeconds: ticks / CLOCK_TICKS, peakRssMiB: Math.round(Number(hwm) / 1024) };
  } catch {
    return { cpuSeconds: Number.NaN, peakRssMiB: Number.NaN };
  }
}

export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

/** Sum of every sample of `name` whose label text contains each of `having` (e.g. 'outcome="delivered"'). */
export function sum(samples: Map<string, number>, name: string, ...having: string[]): number {
  let n = 0;
  for (const [key, value] of samples) {
    const base = key.includes('{') ? key.slice(0, key.indexOf('{')) : key;
    if (base === name && having.every((h) => key.includes(h))) n += value;
  }
  return n;
}

export async function startService(spec: ServiceSpec, logDir: string, onExit: (name: string) => void) {
  const port = await freePort();
  const log = createWriteStream(`${logDir}/${spec.name}.log`);
  const child = spawn(
    process.execPath,
    [...serviceNodeArgs(spec.entry), ...(spec.nodeArgs ?? []), spec.entry],
    {
      cwd: root,
      env: { ...process.env, ...SERVICE_ENV, ...spec.env, HTTP_PORT: String(port), HTTP_HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    onExit(spec.name);
  });
  const url = `http://127.0.0.1:${port}`;
  /** The run's peak before the last reset of VmHWM. */
  let earlierPeak = 0;
  const service: Service = {
    name: spec.name,
    pid: child.pid!,
    port,
    child,
    async ready(timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (exited) throw new Error(`${spec.name} exited during start-up (see ${logDir}/${spec.name}.log)`);
        const ok = await fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      throw new Error(`${spec.name} not ready within ${timeoutMs} ms`);
    },
    async scrape() {
      // A loaded machine resets a reused keep-alive connection now and then; one failed sample must not
      // end the run (it did, twice, on 2026-12-02 with a load average of 20).
      for (let attempt = 1; ; attempt += 1) {
        try {
          const res = await fetch(`${url}/metrics`);
          return parseMetrics(await res.text());
        } catch (error) {
          if (attempt >= 3) throw error;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    },
    stats: () => {
      const s = procStats(child.pid!);
      return { ...s, peakRssMiB: Math.max(earlierPeak, s.peakRssMiB) };
    },
    resetPeak: () => {
      const now = procStats(child.pid!).peakRssMiB;
      if (Number.isFinite(now)) earlierPeak = Math.max(earlierPeak, now);
      try {
        writeFileSync(`/proc/${child.pid}/clear_refs`, '5');
        return true;
      } catch {
        return false;
      }
    },
    phasePeakMiB: () => procStats(child.pid!).peakRssMiB,
    async stop() {
      if (exited) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
      await done;
      clearTimeout(timer);
    },
  };
  return service;
}

/**
 * Quantile `q` of histogram `name` over what was observed between two sets of scrapes (summed over the
 * services and the label sets containing each of `having`), interpolated within its bucket as
 * Prometheus' histogram_quantile does; null when nothing was observed.
 */
export function histogramQuantile(
  before: Map<string, number>[],
  after: Map<string, number>[],
  name: string,
  q: number,
  ...having: string[]
): number | null {
  const counts = new Map<number, number>();
  const add = (scrapes: Map<string, number>[], sign: number) => {
    for (const m of scrapes)
      for (const [key, value] of m) {
        if (!key.startsWith(`${name}_bucket{`) || !having.every((h) => key.includes(h))) continue;
        const le = /le="([^"]+)"/.exec(key)?.[1];
        if (le === undefined) continue;
        const bound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
        counts.set(bound, (counts.get(bound) ?? 0) + sign * value);
      }
  };
  add(after, 1);
  add(before, -1);
  const buckets = [...counts].sort((a, b) => a[0] - b[0]);
  const total = buckets.at(-1)?.[1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const [bound, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lower;
      const inBucket = cumulative - below;
      return inBucket <= 0 ? bound : lower + ((bound - lower) * (rank - below)) / inBucket;
    }
    lower = bound;
    below = cumulative;
  }
  return lower;
}
