/** What exactly-once tests compare: counts first, a few examples so a failure is diagnosable. */
export const EXACTLY_ONCE = { duplicates: 0, missing: 0, unexpected: 0, examples: [] };

/** `seen`: how often each `<event id>>${webhook id}` pair was batched; `expected`: the pairs sent. */
export function exactlyOnceReport(seen: Map<string, number>, expected: Set<string> | Map<string, unknown>) {
  const duplicates = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  const missing = [...expected.keys()].filter((k) => !seen.has(k));
  const unexpected = [...seen.keys()].filter((k) => !expected.has(k));
  return {
    duplicates: duplicates.length,
    missing: missing.length,
    unexpected: unexpected.length,
    examples: [...duplicates, ...missing, ...unexpected].slice(0, 3),
  };
}
