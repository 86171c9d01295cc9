/**
 * What the fault test waits on after each broker restart, polled together: no service process exited,
 * every /readyz is 200, and every consumer group has been seen at lag 0 after its input grew past the
 * size it had when the broker was killed (so lag 0 means the consumer read records written after the
 * restart, not that a dead consumer's input stood still). Returns when each held first, as figures.
 */
import type { RunningProcess } from '../support/services.ts';
import type { GroupInput, GroupLag, LagReader } from './lag.ts';

export interface Service {
  name: string;
  process: RunningProcess;
}

export interface Recovery {
  /** ms after `since` when every /readyz answered 200 in the same poll. */
  readyMs: number;
  /** ms after `since` when each group was first seen at lag 0 past its baseline. */
  groupsMs: Record<string, number>;
  /** Both: the recovery time. */
  totalMs: number;
  /** Per service: ms after `since` of its last poll that was not 200 (0: always 200). */
  servicesMs: Record<string, number>;
  /**
   * Per service that was not ready: why, as its /readyz body said right after each not-ready poll
   * (the parts failing), each distinct reason once, with the number of polls.
   */
  why: Record<string, string>;
}

const tick = () => new Promise((r) => setTimeout(r, 250));

export function exited(services: Service[]): string[] {
  return services
    .filter((s) => s.process.child.exitCode !== null || s.process.child.signalCode !== null)
    .map((s) => `${s.name} (${s.process.child.exitCode ?? s.process.child.signalCode})`);
}

/** What a service's /readyz body says is not ready (its `failing` list), or why there is no body. */
async function notReadyBecause(s: Service): Promise<string> {
  const body = await fetch(`http://127.0.0.1:${s.process.port()}/readyz`, {
    signal: AbortSignal.timeout(2_000),
  })
    .then((r) => r.json() as Promise<{ status: string; failing?: string[] }>)
    .catch(() => undefined);
  if (!body) return 'no answer';
  return body.status === 'ok' ? 'ready a moment later' : (body.failing ?? []).join(' + ') || 'unavailable';
}

export async function readiness(services: Service[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const s of services) {
    const res = await fetch(`http://127.0.0.1:${s.process.port()}/readyz`, {
      signal: AbortSignal.timeout(2_000),
    }).catch(() => undefined);
    out[s.name] = res?.status ?? 0;
  }
  return out;
}

/** Polls until the services are ready and every group caught up (see above); throws on an exit or after `timeoutMs`. */
export async function recovered(
  services: Service[],
  lags: LagReader,
  groups: GroupInput[],
  since: number,
  timeoutMs: number,
  /** Each group's input size before the fault (none: any input counts). */
  before: Map<string, GroupLag> | undefined,
): Promise<Recovery> {
  const baseline = new Map(groups.map((g) => [g.name, before?.get(g.name)?.high ?? 0]));
  const groupsMs: Record<string, number> = {};
  let readyMs: number | undefined;
  let last: Map<string, GroupLag> | undefined;
  let lastReady: Record<string, number> = {};
  const servicesMs: Record<string, number> = Object.fromEntries(services.map((s) => [s.name, 0]));
  const reasons: Record<string, Map<string, number>> = {};
  for (;;) {
    const gone = exited(services);
    if (gone.length > 0) throw new Error(`service exited: ${gone.join(', ')}`);
    lastReady = await readiness(services);
    const now = Date.now() - since;
    for (const s of services)
      if (lastReady[s.name] !== 200) {
        servicesMs[s.name] = Date.now() - since;
        const reason = await notReadyBecause(s);
        reasons[s.name] ??= new Map();
        const seen = reasons[s.name]!;
        seen.set(reason, (seen.get(reason) ?? 0) + 1);
      }
    if (readyMs === undefined && Object.values(lastReady).every((s) => s === 200)) readyMs = now;
    const read = await lags.read(groups);
    if (read) {
      last = read;
      for (const g of groups) {
        const l = read.get(g.name)!;
        if (groupsMs[g.name] === undefined && l.lag === 0 && l.high > baseline.get(g.name)!)
          groupsMs[g.name] = Date.now() - since;
      }
    }
    if (readyMs !== undefined && groups.every((g) => groupsMs[g.name] !== undefined)) {
      const totalMs = Math.max(readyMs, ...Object.values(groupsMs));
      const why = Object.fromEntries(
        Object.entries(reasons).map(([n, m]) => [n, [...m].map(([r, k]) => `${r} ×${k}`).join('; ')]),
      );
      return { readyMs, groupsMs, totalMs, servicesMs, why };
    }
    if (Date.now() - since > timeoutMs) {
      const state = groups
        .filter((g) => groupsMs[g.name] === undefined)
        .map((g) => {
          const l = last?.get(g.name);
          return `${g.name}: lag ${l?.lag ?? '?'} (input ${baseline.get(g.name) ?? '?'} → ${l?.high ?? '?'}; ${l?.behind.join(' ') ?? ''})`;
        });
      throw new Error(
        `not recovered within ${timeoutMs / 1000} s: readyz ${JSON.stringify(lastReady)}; ${state.join('; ') || 'groups caught up'}`,
      );
    }
    await tick();
  }
}

/** Polls until every group is at lag 0 with its input unchanged between two reads (the load stopped). */
export async function drained(lags: LagReader, groups: GroupInput[], timeoutMs: number): Promise<void> {
  const since = Date.now();
  let previous: Map<string, GroupLag> | undefined;
  for (;;) {
    const read = await lags.read(groups);
    if (
      read &&
      previous &&
      groups.every(
        (g) => read.get(g.name)!.lag === 0 && read.get(g.name)!.high === previous!.get(g.name)!.high,
      )
    )
      return;
    if (read) previous = read;
    if (Date.now() - since > timeoutMs) {
      const state = groups.map((g) => `${g.name}: ${previous?.get(g.name)?.behind.join(' ') || 'lag 0'}`);
      throw new Error(`groups not drained within ${timeoutMs / 1000} s: ${state.join('; ')}`);
    }
    await tick();
  }
}
