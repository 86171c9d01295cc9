/** Parsing of the CLI's option values: times, rates, reasons. Pure, so the rules are unit-tested. */
import { DEAD_LETTER_REASONS } from '@hookpost/contracts';

export class UsageError extends Error {
  readonly code = 'USAGE';
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A point in time: ISO 8601 (`2026-11-25T10:00:00Z`, `2026-11-25`), `now`, or a duration ago (`90m`,
 * `24h`, `7d`). Returns ms since the epoch.
 */
export function parseTime(value: string, now: number, option: string): number {
  if (value === 'now') return now;
  const rel = /^(\d+)([smhd])$/.exec(value);
  if (rel) return now - Number(rel[1]) * UNITS[rel[2]!]!;
  if (/^\d{4}-\d{2}-\d{2}/.test(value)) {
    const t = Date.parse(value);
    if (!Number.isNaN(t)) return t;
  }
  throw new UsageError(
    `${option}: "${value}" is not a time (ISO 8601 like 2026-11-25T10:00:00Z, "now", or a duration ago like 30m, 24h, 7d)`,
  );
}

/** `N/s` or `N`: dead letters per second; 0 means unlimited. */
export function parseRate(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(value);
  if (!m) throw new UsageError(`--rate: "${value}" is not a rate (like 50/s)`);
  return Number(m[1]);
}

/** `--limit N`: how many dead letters `list` prints; 0 means all. */
export function parseLimit(value: string): number {
  if (!/^\d+$/.test(value))
    throw new UsageError(`--limit: "${value}" is not a count (like 50, or 0 for all)`);
  return Number(value);
}

const REASONS = Object.keys(DEAD_LETTER_REASONS);

export function parseReasons(values: string[] | undefined): string[] | undefined {
  if (!values || values.length === 0) return undefined;
  const list = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  for (const r of list)
    if (!(REASONS as readonly string[]).includes(r))
      throw new UsageError(`--reason: "${r}" is not a reason (${REASONS.join(', ')})`);
  return list;
}

/**
 * A duration for people, always one unit suffix per figure: `0s`, `<1s`, `59s`, `1m00s`, `59m59s`, `1h00m`,
 * `23h59m`, `1d00h`. Whole seconds are floored, so a figure never claims more time than measured.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  if (ms <= 0) return '0s';
  if (ms < 1000) return '<1s';
  const s = Math.floor(ms / 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** `1 dead letter`, `2 dead letters`: the CLI's counts read as sentences, not `dead letter(s)`. */
export function count(n: number, noun: string, nouns = `${noun}s`): string {
  return `${n} ${n === 1 ? noun : nouns}`;
}

/** One line of the replay progress bar: `[#####.....] 50/100  12.5/s  ETA 4s`. */
export function progressLine(
  p: { done: number; total: number; elapsedMs: number; etaMs: number | null },
  width = 30,
): string {
  const ratio = p.total === 0 ? 1 : Math.min(1, p.done / p.total);
  const filled = Math.round(ratio * width);
  const rate = p.elapsedMs > 0 ? (p.done / p.elapsedMs) * 1000 : 0;
  const eta = p.etaMs === null ? '?' : formatDuration(p.etaMs);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total}  ${rate.toFixed(1)}/s  ETA ${eta}`;
}
