import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMAND, configReference, OUTPUT } from '../../scripts/config-reference.ts';

describe('docs/configuration.md', () => {
  it('is what the convict schemas generate', () => {
    const committed = readFileSync(OUTPUT, 'utf8');
    // A diff of 150 table rows is unreadable; name the first line that differs and the fix.
    const want = configReference().split('\n');
    const have = committed.split('\n');
    const line = want.findIndex((l, i) => l !== have[i]);
    const where = line === -1 ? want.length : line;
    expect(
      committed === want.join('\n'),
      `docs/configuration.md is stale (line ${where + 1}: expected ${JSON.stringify(want[where])}, found ${JSON.stringify(have[where])}); run \`${COMMAND}\` and commit the result`,
    ).toBe(true);
  });
});
