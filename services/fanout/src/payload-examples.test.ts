import { readdirSync, readFileSync } from 'node:fs';
import { EVENT_TYPES } from '@hookpost/events';
import { describe, expect, it } from 'vitest';
import { examplePayloads, withReference } from './payload-examples.ts';

const docs = new URL('../../../docs/', import.meta.url);
const regenerate = 'regenerate with `npm run payloads -w @hookpost/fanout`';

describe('payload reference (docs/payloads, docs/receiving.md)', () => {
  it('has one golden file per event type, equal to what the renderer produces now', () => {
    const files = readdirSync(new URL('payloads/', docs)).filter((f) => f.endsWith('.json'));
    expect(files.sort(), regenerate).toEqual(EVENT_TYPES.map((t) => `${t}.json`).sort());
    for (const [type, payload] of examplePayloads()) {
      const golden = JSON.parse(readFileSync(new URL(`payloads/${type}.json`, docs), 'utf8'));
      expect(golden, `${type}: ${regenerate}`).toEqual(payload);
    }
  });

  it('shows the same payloads in the receiver guide', () => {
    const guide = readFileSync(new URL('receiving.md', docs), 'utf8');
    const updated = withReference(guide);
    expect(updated, 'docs/receiving.md has the payloads:begin/end markers').toBeDefined();
    expect(updated === guide, regenerate).toBe(true);
  });

  it('notices a change of the renderer (the check can fail)', () => {
    const guide = readFileSync(new URL('receiving.md', docs), 'utf8');
    const tampered = guide.replace('"webhook_id": "2351ndgwr4zqx8ko"', '"webhook_id": "changed"');
    expect(tampered).not.toBe(guide);
    expect(withReference(tampered)).toBe(guide);
  });
});
