import { describe, expect, it } from 'vitest';
import { CircuitBreakers, type CircuitState, isCircuitFailure } from './breaker.ts';

function breakers(failures = 3, cooldownMs = 1_000) {
  let t = 0;
  const transitions: [string, CircuitState][] = [];
  const b = new CircuitBreakers({
    failures,
    cooldownMs,
    now: () => t,
    onTransition: (key, to) => transitions.push([key, to]),
  });
  /** One admitted attempt with its outcome; false when the circuit refused it. */
  const attempt = (ok: boolean, key = 'w') => {
    if (!b.admit(key)) return false;
    b.record(key, ok);
    return true;
  };
  return { b, transitions, attempt, advance: (ms: number) => (t += ms) };
}

describe('CircuitBreakers', () => {
  it('stays closed one failure short of the threshold', () => {
    const { b, attempt, transitions } = breakers(3);
    attempt(false);
    attempt(false);
    expect(b.state('w')).toBe('closed');
    expect(b.allows('w')).toBe(true);
    expect(transitions).toEqual([]);
  });

  it('opens at the threshold and refuses attempts during the cool-down', () => {
    const { b, attempt, transitions, advance } = breakers(3, 1_000);
    for (let i = 0; i < 3; i++) expect(attempt(false)).toBe(true);
    expect(b.state('w')).toBe('open');
    expect(b.notClosed).toBe(1);
    expect(transitions).toEqual([['w', 'open']]);
    advance(999);
    expect(b.allows('w')).toBe(false);
    expect(b.admit('w')).toBe(false);
    // Other webhooks are not affected.
    expect(attempt(true, 'other')).toBe(true);
    expect(b.state('other')).toBe('closed');
  });

  it('just past the threshold: a late failure of an attempt admitted before opening changes nothing', () => {
    const { b, transitions } = breakers(3);
    for (let i = 0; i < 4; i++) expect(b.admit('w')).toBe(true);
    for (let i = 0; i < 4; i++) b.record('w', false);
    expect(b.state('w')).toBe('open');
    expect(transitions).toEqual([['w', 'open']]);
    // A late success of an attempt admitted while closed does not close it either: only the probe does.
    b.record('w', true);
    expect(b.state('w')).toBe('open');
  });

  it('far past the threshold: stays open, one probe per cool-down, never more', () => {
    const { b, attempt, advance, transitions } = breakers(3, 1_000);
    for (let i = 0; i < 3; i++) attempt(false);
    for (let round = 0; round < 50; round++) {
      expect(attempt(false)).toBe(false);
      advance(1_000);
      expect(b.state('w')).toBe('half_open');
      expect(b.admit('w')).toBe(true);
      // While the probe is in flight every other attempt is refused.
      expect(b.allows('w')).toBe(false);
      expect(b.admit('w')).toBe(false);
      b.record('w', false);
      expect(b.state('w')).toBe('open');
    }
    expect(transitions.filter(([, to]) => to === 'open')).toHaveLength(51);
    expect(transitions.filter(([, to]) => to === 'half_open')).toHaveLength(50);
  });

  it('a successful probe closes the circuit and forgets the streak', () => {
    const { b, attempt, advance, transitions } = breakers(2, 500);
    attempt(false);
    attempt(false);
    advance(500);
    expect(attempt(true)).toBe(true);
    expect(b.state('w')).toBe('closed');
    expect(b.notClosed).toBe(0);
    expect(transitions.map(([, to]) => to)).toEqual(['open', 'half_open', 'closed']);
    // A fresh streak is needed to open again.
    attempt(false);
    expect(b.state('w')).toBe('closed');
  });

  it('a success in between resets the streak', () => {
    const { b, attempt } = breakers(3);
    for (let i = 0; i < 10; i++) {
      attempt(false);
      attempt(false);
      attempt(true);
    }
    expect(b.state('w')).toBe('closed');
  });

  it('threshold 1 opens on the first failure', () => {
    const { b, attempt } = breakers(1);
    attempt(false);
    expect(b.state('w')).toBe('open');
  });

  it('refuses invalid options', () => {
    expect(() => new CircuitBreakers({ failures: 0, cooldownMs: 1, now: () => 0 })).toThrow(RangeError);
    expect(() => new CircuitBreakers({ failures: 1.5, cooldownMs: 1, now: () => 0 })).toThrow(RangeError);
    expect(() => new CircuitBreakers({ failures: 1, cooldownMs: -1, now: () => 0 })).toThrow(RangeError);
  });

  it('counts timeouts, network errors and 5xx as failures; answers and 429 are not', () => {
    expect(isCircuitFailure({ kind: 'retry', status: null })).toBe(true);
    expect(isCircuitFailure({ kind: 'retry', status: 503 })).toBe(true);
    expect(isCircuitFailure({ kind: 'retry', status: 429 })).toBe(false);
    expect(isCircuitFailure({ kind: 'delivered', status: 200 })).toBe(false);
    expect(isCircuitFailure({ kind: 'refused', status: 400 })).toBe(false);
    expect(isCircuitFailure({ kind: 'gone', status: 410 })).toBe(false);
  });
});
