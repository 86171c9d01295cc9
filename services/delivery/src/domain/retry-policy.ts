/**
 * What happens after an attempt: pure, clock and randomness injected.
 *
 * Tier topics keep their records nearly in due order because every record of a tier waits the same
 * delay (plus a small positive jitter). A Retry-After longer than the next tier's delay would break
 * that order, so it moves the batch to the first tier whose delay covers it instead of parking it at
 * the head of a short tier (the batch skips the attempts of the tiers it jumps over; the receiver
 * asked for that pause). Only when even the last tier is too short does a record wait past its
 * tier's delay, and the tier consumer copes with that by holding it while later records go ahead.
 */
import type { DeadLetterReason } from '@hookpost/contracts';

export interface Tier {
  /** Appears in the topic name `webhooks.retry.<name>` and as the metric label. */
  name: string;
  delayMs: number;
}

/** The main consumer's pseudo-tier: attempts from webhooks.batches. */
export const MAIN_TIER = 'main';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export type ParsedTiers = { ok: true; tiers: Tier[] } | { ok: false; reason: string };

/** `"10s,100s,5m"` → tiers; names are the tokens, so they are valid in topic names. */
export function parseTiers(spec: string): ParsedTiers {
  const tokens = spec
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  if (tokens.length === 0) return { ok: false, reason: 'at least one retry tier is required' };
  const tiers: Tier[] = [];
  for (const token of tokens) {
    const m = /^(\d+)(ms|s|m|h)$/.exec(token);
    if (!m) return { ok: false, reason: `"${token}" is not a delay like 200ms, 10s, 5m or 2h` };
    const delayMs = Number(m[1]) * UNITS[m[2]!]!;
    if (delayMs <= 0) return { ok: false, reason: `"${token}" must be a positive delay` };
    const previous = tiers[tiers.length - 1];
    if (previous && delayMs <= previous.delayMs)
      return { ok: false, reason: `tier delays must increase ("${token}" after "${previous.name}")` };
    tiers.push({ name: token, delayMs });
  }
  return { ok: true, tiers };
}

export type Decision =
  | { kind: 'delivered' }
  | { kind: 'retry'; tier: Tier; dueAt: number }
  | { kind: 'dead'; reason: Extract<DeadLetterReason, 'exhausted' | 'gone' | 'refused'> };

export interface DecideInput {
  outcome: { kind: 'delivered' | 'retry' | 'gone' | 'refused'; retryAfterMs: number | null };
  /** Tier the attempt was made from (MAIN_TIER or a tier name). */
  fromTier: string;
  tiers: readonly Tier[];
  now: number;
  /** Fraction of the delay added at random (0.1 → up to +10%). */
  jitter: number;
  /** [0, 1) */
  random: () => number;
}

export function decide(input: DecideInput): Decision {
  const { outcome, tiers } = input;
  if (outcome.kind === 'delivered') return { kind: 'delivered' };
  if (outcome.kind === 'gone') return { kind: 'dead', reason: 'gone' };
  if (outcome.kind === 'refused') return { kind: 'dead', reason: 'refused' };
  const from = input.fromTier === MAIN_TIER ? -1 : tiers.findIndex((t) => t.name === input.fromTier);
  let next = from + 1;
  // A tier name from an older configuration that is no longer listed: the last tier retries it once more.
  if (from === -1 && input.fromTier !== MAIN_TIER) next = tiers.length - 1;
  if (next >= tiers.length) return { kind: 'dead', reason: 'exhausted' };
  const wait = outcome.retryAfterMs ?? 0;
  while (next < tiers.length - 1 && tiers[next]!.delayMs < wait) next += 1;
  const tier = tiers[next]!;
  const delay = Math.round(tier.delayMs * (1 + input.jitter * input.random()));
  return { kind: 'retry', tier, dueAt: input.now + Math.max(delay, wait) };
}
