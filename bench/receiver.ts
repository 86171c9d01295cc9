/**
 * Parent side of the benchmark receiver: forks bench/receiver-main.ts (its own process, so producing
 * at full speed in the bench process does not delay arrivals) and talks to it over IPC.
 */
import { type ChildProcess, fork } from 'node:child_process';

/**
 * How a webhook's endpoint behaves: answers 200, never answers, or answers 500 at random; `raw`
 * counts one unsigned record per request (the peer system of bench/peer.ts).
 */
export type Behaviour = 'ok' | 'hang' | 'flaky' | 'raw';

export interface PhaseSetup {
  phase: string;
  /** Events in the phase (their ids are `<phase>.<0..n-1>`). */
  events: number;
  /** Webhooks per domain. */
  perDomain: number;
  /** Signing secret per webhook, keyed `<domain number>/<slot>`. */
  secrets: Record<string, string>;
  /** Probability that a `flaky` endpoint answers 500 (each batch fails at most `maxFailures` times). */
  failRate: number;
  maxFailures: number;
}

export interface PhaseStats {
  /** Distinct (event, webhook) pairs delivered with a 2xx answer. */
  pairs: number;
  duplicates: number;
  /** Pairs that the subscription design says should not exist (wrong slot or domain). */
  unexpected: number;
  badSignatures: number;
  /** 2xx answers (batches delivered). */
  batches: number;
  /** 500s the receiver chose to answer (retry scenario). */
  injectedFailures: number;
  /** Requests left unanswered (slow scenario). */
  hung: number;
  firstArrival: number;
  lastArrival: number;
}

export interface ReceiverHandle {
  pid: number;
  /** Base URLs of the healthy origins and of the origins that serve hanging webhooks. */
  origins: string[];
  hangOrigins: string[];
  setup(phase: PhaseSetup): Promise<void>;
  stats(phase: string): Promise<PhaseStats>;
  /** Latency samples (ms from the event's created_at to arrival), one per distinct pair. */
  latencies(phase: string): Promise<Float64Array>;
  close(): Promise<void>;
}

type Reply = { id: number; value: unknown };

export async function startBenchReceiver(origins: number, hangOrigins: number): Promise<ReceiverHandle> {
  const child: ChildProcess = fork(
    new URL('./receiver-main.ts', import.meta.url).pathname,
    [String(origins), String(hangOrigins)],
    {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const pending = new Map<number, (v: unknown) => void>();
  let nextId = 1;
  const ready = new Promise<{ ports: number[]; hangPorts: number[] }>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`receiver exited (${code}) before it was ready`)));
    child.on('message', (m: Reply | { ready: { ports: number[]; hangPorts: number[] } }) => {
      if ('ready' in m) resolve(m.ready);
      else pending.get(m.id)?.(m.value);
    });
  });
  const { ports, hangPorts } = await ready;
  const call = <T>(op: string, arg: unknown): Promise<T> =>
    new Promise<T>((resolve) => {
      const id = nextId++;
      pending.set(id, (v) => {
        pending.delete(id);
        resolve(v as T);
      });
      child.send({ id, op, arg });
    });
  return {
    pid: child.pid!,
    origins: ports.map((p) => `http://127.0.0.1:${p}`),
    hangOrigins: hangPorts.map((p) => `http://127.0.0.1:${p}`),
    setup: (phase) => call<void>('setup', phase),
    stats: (phase) => call<PhaseStats>('stats', phase),
    latencies: (phase) => call<Float64Array>('latencies', phase),
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
