/**
 * Bearer-token authorisation. Tokens live in configuration as SHA-256 hashes (a leaked config does not
 * leak a usable token), each scoped to domain ids (or all) and to read or read-write. A webhook outside
 * a token's domains is reported as not found, so a token cannot even learn that it exists.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

type Access = 'read' | 'read-write';

export interface ApiToken {
  name: string;
  sha256: string;
  /** Domain ids, or ['*'] for every domain. */
  domains: string[];
  access: Access;
}

export interface Principal {
  name: string;
  access: Access;
  canSee(domainId: string): boolean;
  /** The token's domains are `*`: an operator, who may see cross-domain figures (the overview). */
  allDomains: boolean;
}

/** Parses and checks the configured list; the message names the entry, never a hash. */
export function parseTokens(json: string): ApiToken[] {
  let list: unknown;
  try {
    list = JSON.parse(json);
  } catch {
    throw new Error('must be a JSON list of tokens');
  }
  if (!Array.isArray(list)) throw new Error('must be a JSON list of tokens');
  return list.map((raw, i) => {
    const t = raw as Partial<ApiToken> | null;
    const at = `token #${i + 1}${typeof t?.name === 'string' ? ` (${t.name})` : ''}`;
    if (!t || typeof t.name !== 'string' || t.name === '') throw new Error(`${at}: name is required`);
    if (typeof t.sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(t.sha256))
      throw new Error(`${at}: sha256 must be 64 hex digits`);
    if (
      !Array.isArray(t.domains) ||
      t.domains.length === 0 ||
      t.domains.some((d) => typeof d !== 'string' || d === '')
    )
      throw new Error(`${at}: domains must be a non-empty list of domain ids or "*"`);
    if (t.access !== 'read' && t.access !== 'read-write')
      throw new Error(`${at}: access must be read or read-write`);
    return { name: t.name, sha256: t.sha256.toLowerCase(), domains: t.domains, access: t.access };
  });
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export type AuthResult = { ok: true; principal: Principal } | { ok: false; reason: string };

export class TokenAuthority {
  private readonly tokens: { hash: Buffer; token: ApiToken }[];

  constructor(tokens: ApiToken[]) {
    this.tokens = tokens.map((token) => ({ hash: Buffer.from(token.sha256, 'hex'), token }));
  }

  /** `header`: the Authorization header value. */
  authenticate(header: string | undefined): AuthResult {
    if (!header) return { ok: false, reason: 'missing bearer token' };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) return { ok: false, reason: 'Authorization must be "Bearer <token>"' };
    const presented = Buffer.from(hashToken(match[1]!), 'hex');
    // Compare against every entry in constant time per entry: the time does not say which one matched.
    let found: ApiToken | undefined;
    for (const { hash, token } of this.tokens) if (timingSafeEqual(hash, presented)) found ??= token;
    if (!found) return { ok: false, reason: 'invalid bearer token' };
    const all = found.domains.includes('*');
    const domains = new Set(found.domains);
    return {
      ok: true,
      principal: {
        name: found.name,
        access: found.access,
        canSee: (d) => all || domains.has(d),
        allDomains: all,
      },
    };
  }
}
