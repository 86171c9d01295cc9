/**
 * Outbound safety: webhook URLs are chosen by customers, so without a guard they could make us POST to
 * our own loopback, private networks or the cloud metadata endpoint.
 *
 * Two doors, one policy:
 * - `checkUrl` is static (scheme, credentials, literal IP hosts, localhost names): the API refuses a
 *   URL at creation with its reason, and the sender checks again before each request, because a
 *   connection to a literal IP never goes through DNS.
 * - `lookup` plugs into the socket (`net.connect` / undici `connect: { lookup }`): it resolves the name
 *   and refuses when any resolved address is not allowed. Since the socket connects to exactly the
 *   addresses this function returned, there is no gap between check and use (DNS rebinding).
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { SSRF_ERROR_CODE } from './definitions.ts';
import {
  type Cidr,
  classifyIp,
  formatV4,
  type IpClass,
  type IpRefusal,
  inCidr,
  parseCidr,
  parseIp,
} from './ip.ts';

export interface SsrfAllow {
  /** 127.0.0.0/8, ::1 and localhost names (tests and local demos). */
  loopback?: boolean;
  /** RFC 1918 (10/8, 172.16/12, 192.168/16) and IPv6 unique-local fc00::/7. */
  private?: boolean;
  /**
   * Ranges allowed whatever their class, e.g. `100.64.0.0/10` or a single `169.254.10.1/32`; an
   * address an IPv6 form embeds is matched as IPv4 as well.
   */
  cidrs?: string[];
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a name to every address; injectable so tests need no real DNS. */
export type Resolver = (hostname: string, family: 0 | 4 | 6) => Promise<ResolvedAddress[]>;

export interface SsrfOptions {
  allow?: SsrfAllow;
  resolve?: Resolver;
}

export type AddressCheck = { ok: true } | { ok: false; reason: IpRefusal; message: string };
export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

/** The error the lookup fails the connection with; stable `code`, message without secrets. */
export class SsrfError extends Error {
  readonly code = SSRF_ERROR_CODE;
  readonly reason: IpRefusal;

  constructor(message: string, reason: IpRefusal) {
    super(message);
    this.name = 'SsrfError';
    this.reason = reason;
  }
}

/** Whether an error (or what it wraps) is an SSRF refusal. */
export function isSsrfError(error: unknown): error is SsrfError {
  for (let e: unknown = error, depth = 0; e && depth < 5; depth += 1) {
    if ((e as { code?: unknown }).code === SSRF_ERROR_CODE) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const DESCRIPTIONS: Record<IpRefusal, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  'unique-local': 'a unique-local address',
  'link-local': 'a link-local address',
  unspecified: 'the unspecified address',
  cgnat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  broadcast: 'the broadcast address',
  reserved: 'a reserved address',
  invalid: 'not an IP address',
};

const defaultResolve: Resolver = (hostname, family) => dnsLookup(hostname, { all: true, family });

function describe(verdict: Extract<IpClass, { public: false }>): string {
  const what = `${DESCRIPTIONS[verdict.reason]}${verdict.range ? ` (${verdict.range})` : ''}`;
  return verdict.embedded ? `carries ${formatV4(verdict.embedded.value)}, ${what}` : `is ${what}`;
}

/** RFC 6761: `localhost` and `*.localhost` always mean this machine, whatever DNS says. */
function isLocalhostName(host: string): boolean {
  const name = host.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

export class SsrfGuard {
  /** For `net.connect({ lookup })` and undici `new Agent({ connect: { lookup } })`. */
  readonly lookup: LookupFunction;
  private readonly allowLoopback: boolean;
  private readonly allowPrivate: boolean;
  private readonly cidrs: Cidr[];
  private readonly resolve: Resolver;

  /** Throws on a malformed `allow.cidrs` entry: that is a configuration error to stop start-up. */
  constructor(options: SsrfOptions = {}) {
    const allow = options.allow ?? {};
    this.allowLoopback = allow.loopback === true;
    this.allowPrivate = allow.private === true;
    this.cidrs = (allow.cidrs ?? []).map((text) => {
      const parsed = parseCidr(text);
      if (!parsed.ok) throw new Error(`ssrf allow.cidrs: ${parsed.reason}`);
      return parsed.cidr;
    });
    this.resolve = options.resolve ?? defaultResolve;
    this.lookup = (hostname, options, callback) => {
      const family =
        options.family === 4 || options.family === 'IPv4'
          ? 4
          : options.family === 6 || options.family === 'IPv6'
            ? 6
            : 0;
      this.resolveAllowed(hostname, family).then(
        (addresses) => {
          const first = addresses[0]!;
          if (options.all) callback(null, addresses);
          else callback(null, first.address, first.family);
        },
        (error: NodeJS.ErrnoException) => callback(error, ''),
      );
    };
  }

  checkAddress(address: string): AddressCheck {
    const verdict = classifyIp(address);
    if (verdict.public) return { ok: true };
    if (this.allowed(verdict)) return { ok: true };
    return { ok: false, reason: verdict.reason, message: `${address} ${describe(verdict)}` };
  }

  checkUrl(input: string | URL): UrlCheck {
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      return { ok: false, reason: 'not a valid absolute URL' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return { ok: false, reason: `scheme must be http or https, not ${url.protocol.slice(0, -1)}` };
    // Credentials in the URL would travel in clear in logs and histories; basic auth has its own field.
    if (url.username || url.password)
      return { ok: false, reason: 'credentials in the URL are not allowed; use basic auth instead' };
    const host = url.hostname;
    if (isLocalhostName(host) && !this.allowLoopback)
      return { ok: false, reason: `host ${host} is a loopback name` };
    // The WHATWG parser already normalised decimal, hex and octal IPv4 forms to dotted quads.
    if (parseIp(host)) {
      const check = this.checkAddress(host);
      if (!check.ok) return { ok: false, reason: `host ${check.message}` };
    }
    return { ok: true, url };
  }

  private allowed(verdict: Extract<IpClass, { public: false }>): boolean {
    if (verdict.reason === 'loopback' && this.allowLoopback) return true;
    if ((verdict.reason === 'private' || verdict.reason === 'unique-local') && this.allowPrivate) return true;
    return this.cidrs.some(
      (c) =>
        (verdict.ip !== null && inCidr(verdict.ip, c)) ||
        (verdict.embedded !== null && inCidr(verdict.embedded, c)),
    );
  }

  private async resolveAllowed(hostname: string, family: 0 | 4 | 6): Promise<ResolvedAddress[]> {
    if (isLocalhostName(hostname) && !this.allowLoopback)
      throw new SsrfError(`refused ${hostname}: a loopback name`, 'loopback');
    const addresses = await this.resolve(hostname, family);
    if (addresses.length === 0) {
      const error: NodeJS.ErrnoException = new Error(`no address for ${hostname}`);
      error.code = 'ENOTFOUND';
      throw error;
    }
    // Refuse the whole name if any address is refused, rather than quietly connecting to the rest:
    // a name that mixes public and internal addresses is a misconfiguration or an attack.
    for (const { address } of addresses) {
      const check = this.checkAddress(address);
      if (!check.ok) throw new SsrfError(`refused ${hostname}: ${check.message}`, check.reason);
    }
    return addresses;
  }
}

/** Static URL check with a one-off policy (the API at creation time). */
export function checkUrl(url: string | URL, allow: SsrfAllow = {}): UrlCheck {
  return new SsrfGuard({ allow }).checkUrl(url);
}
