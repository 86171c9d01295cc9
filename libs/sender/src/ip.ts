/**
 * IP parsing and classification, pure. Addresses become bigints so one CIDR matcher serves both
 * families; IPv6 forms that carry an IPv4 address (mapped, NAT64, 6to4) are judged by that address,
 * because that is where the packets end up.
 */
import { isIPv4, isIPv6 } from 'node:net';

export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

export interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
  text: string;
}

export function parseIp(input: string): ParsedIp | null {
  // URL hosts carry brackets and link-local addresses may carry a zone (fe80::1%eth0).
  let ip = input.startsWith('[') && input.endsWith(']') ? input.slice(1, -1) : input;
  const zone = ip.indexOf('%');
  if (zone !== -1) ip = ip.slice(0, zone);
  if (isIPv4(ip)) return { family: 4, value: v4ToBigInt(ip) };
  if (!isIPv6(ip)) return null;
  let tail: number[] = [];
  const lastColon = ip.lastIndexOf(':');
  if (ip.includes('.', lastColon)) {
    const v4 = Number(v4ToBigInt(ip.slice(lastColon + 1)));
    tail = [v4 >>> 16, v4 & 0xffff];
    ip = `${ip.slice(0, lastColon + 1)}0`; // placeholder group, replaced below
  }
  const [head = '', rest] = ip.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  if (tail.length > 0) {
    if (right.length > 0) right.pop();
    else left.pop();
  }
  const groupsNeeded = 8 - tail.length;
  const fill = rest === undefined ? 0 : groupsNeeded - left.length - right.length;
  const groups = [...left, ...Array<string>(fill).fill('0'), ...right].map((g) => Number.parseInt(g, 16));
  groups.push(...tail);
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return { family: 6, value };
}

function v4ToBigInt(ip: string): bigint {
  return ip.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

export function formatV4(value: bigint): string {
  return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
}

export type ParsedCidr = { ok: true; cidr: Cidr } | { ok: false; reason: string };

export function parseCidr(text: string): ParsedCidr {
  const [addr = '', bitsText, extra] = text.trim().split('/');
  const ip = parseIp(addr);
  const width = ip?.family === 4 ? 32 : 128;
  const bits = bitsText === undefined ? width : Number(bitsText);
  if (!ip || extra !== undefined || !Number.isInteger(bits) || bits < 0 || bits > width || bitsText === '')
    return { ok: false, reason: `"${text}" is not a CIDR (address/prefix-length)` };
  const mask = prefixMask(bits, width);
  return { ok: true, cidr: { family: ip.family, base: ip.value & mask, bits, text: text.trim() } };
}

function prefixMask(bits: number, width: number): bigint {
  const all = (1n << BigInt(width)) - 1n;
  return bits === 0 ? 0n : (all >> BigInt(width - bits)) << BigInt(width - bits);
}

export function inCidr(ip: ParsedIp, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false;
  const width = ip.family === 4 ? 32 : 128;
  return (ip.value & prefixMask(cidr.bits, width)) === cidr.base;
}

/** Why an address is not public. `allow.loopback` and `allow.private` lift the first two groups. */
export type IpRefusal =
  | 'loopback'
  | 'private'
  | 'unique-local'
  | 'link-local'
  | 'unspecified'
  | 'cgnat'
  | 'multicast'
  | 'broadcast'
  | 'reserved'
  | 'invalid';

export type IpClass =
  | { public: true; ip: ParsedIp }
  | {
      public: false;
      reason: IpRefusal;
      /** The range that matched, e.g. `10.0.0.0/8`, for messages. */
      range: string | null;
      ip: ParsedIp | null;
      /** The IPv4 address an IPv6 form carries, when the verdict is about it. */
      embedded: ParsedIp | null;
    };

function cidr(text: string): Cidr {
  const parsed = parseCidr(text);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.cidr;
}

/** Order matters: the first match wins, so narrower ranges come before the ones containing them. */
const V4_RANGES: [Cidr, IpRefusal][] = [
  [cidr('0.0.0.0/32'), 'unspecified'],
  [cidr('0.0.0.0/8'), 'reserved'],
  [cidr('127.0.0.0/8'), 'loopback'],
  [cidr('10.0.0.0/8'), 'private'],
  [cidr('172.16.0.0/12'), 'private'],
  [cidr('192.168.0.0/16'), 'private'],
  [cidr('100.64.0.0/10'), 'cgnat'],
  // Includes the cloud metadata endpoint 169.254.169.254.
  [cidr('169.254.0.0/16'), 'link-local'],
  [cidr('192.0.0.0/24'), 'reserved'],
  [cidr('192.0.2.0/24'), 'reserved'],
  [cidr('192.88.99.0/24'), 'reserved'],
  [cidr('198.18.0.0/15'), 'reserved'],
  [cidr('198.51.100.0/24'), 'reserved'],
  [cidr('203.0.113.0/24'), 'reserved'],
  [cidr('224.0.0.0/4'), 'multicast'],
  [cidr('255.255.255.255/32'), 'broadcast'],
  [cidr('240.0.0.0/4'), 'reserved'],
];

/** IPv6 prefixes whose low bits carry an IPv4 address, and where it sits (right shift of the value). */
const V6_EMBEDDING: [Cidr, bigint][] = [
  [cidr('::ffff:0:0/96'), 0n], // IPv4-mapped
  [cidr('64:ff9b::/96'), 0n], // NAT64 well-known prefix
  [cidr('2002::/16'), 80n], // 6to4: 2002:AABB:CCDD::/48
];

const V6_RANGES: [Cidr, IpRefusal][] = [
  [cidr('::/128'), 'unspecified'],
  [cidr('::1/128'), 'loopback'],
  // Deprecated IPv4-compatible and SIIT forms, local-use NAT64, discard, Teredo and other IETF
  // assignments, documentation, deprecated site-local: nothing a webhook should resolve to.
  [cidr('::/96'), 'reserved'],
  [cidr('::ffff:0:0:0/96'), 'reserved'],
  [cidr('64:ff9b:1::/48'), 'reserved'],
  [cidr('100::/64'), 'reserved'],
  [cidr('2001::/23'), 'reserved'],
  [cidr('2001:db8::/32'), 'reserved'],
  [cidr('3fff::/20'), 'reserved'],
  [cidr('fc00::/7'), 'unique-local'],
  [cidr('fe80::/10'), 'link-local'],
  [cidr('fec0::/10'), 'reserved'],
  [cidr('ff00::/8'), 'multicast'],
];

/** Only 2000::/3 is allocated as global unicast; anything else is refused. */
const V6_GLOBAL = cidr('2000::/3');

/** IPv4 address an IPv6 address carries, or null. */
function embeddedV4(ip: ParsedIp): ParsedIp | null {
  if (ip.family !== 6) return null;
  for (const [range, shift] of V6_EMBEDDING)
    if (inCidr(ip, range)) return { family: 4, value: (ip.value >> shift) & 0xffffffffn };
  return null;
}

export function classifyIp(address: string): IpClass {
  const ip = parseIp(address);
  if (!ip) return { public: false, reason: 'invalid', range: null, ip: null, embedded: null };
  const embedded = embeddedV4(ip);
  const judged = embedded ?? ip;
  const ranges = judged.family === 4 ? V4_RANGES : V6_RANGES;
  for (const [range, reason] of ranges)
    if (inCidr(judged, range)) return { public: false, reason, range: range.text, ip, embedded };
  if (judged.family === 6 && !inCidr(judged, V6_GLOBAL))
    return { public: false, reason: 'reserved', range: 'outside 2000::/3', ip, embedded };
  return { public: true, ip };
}
