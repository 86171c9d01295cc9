import { describe, expect, it } from 'vitest';
import { hashToken, parseTokens, TokenAuthority } from './auth.ts';

const config = JSON.stringify([
  { name: 'backend', sha256: hashToken('tok-all'), domains: ['*'], access: 'read-write' },
  { name: 'viewer', sha256: hashToken('tok-read'), domains: ['dom-1'], access: 'read' },
]);

describe('bearer tokens', () => {
  it('authenticates by hash and scopes by domain and access', () => {
    const auth = new TokenAuthority(parseTokens(config));
    const all = auth.authenticate('Bearer tok-all');
    expect(all.ok && all.principal.canSee('anything')).toBe(true);
    const read = auth.authenticate('bearer tok-read');
    expect(read.ok && read.principal.access).toBe('read');
    expect(read.ok && read.principal.canSee('dom-1')).toBe(true);
    expect(read.ok && read.principal.canSee('dom-2')).toBe(false);
    // Only `*` makes an operator: a customer token is never one, even for a domain literally named so.
    expect(all.ok && all.principal.allDomains).toBe(true);
    expect(read.ok && read.principal.allDomains).toBe(false);
    expect(read.ok && read.principal.canSee('*')).toBe(false);
  });

  it('refuses a missing, malformed or unknown token', () => {
    const auth = new TokenAuthority(parseTokens(config));
    expect(auth.authenticate(undefined)).toMatchObject({ ok: false, reason: 'missing bearer token' });
    expect(auth.authenticate('Basic abc')).toMatchObject({ ok: false });
    expect(auth.authenticate('Bearer nope')).toMatchObject({ ok: false, reason: 'invalid bearer token' });
  });

  it('rejects a bad configuration with a message naming the entry and never the hash', () => {
    expect(() => parseTokens('{')).toThrow(/JSON list/);
    expect(() => parseTokens('[{"name":"x","sha256":"abc","domains":["*"],"access":"read"}]')).toThrow(
      /token #1 \(x\): sha256/,
    );
    expect(() =>
      parseTokens(`[{"name":"x","sha256":"${hashToken('a')}","domains":[],"access":"read"}]`),
    ).toThrow(/domains/);
    expect(() =>
      parseTokens(`[{"name":"x","sha256":"${hashToken('a')}","domains":["*"],"access":"admin"}]`),
    ).toThrow(/access/);
  });
});
