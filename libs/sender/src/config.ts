import { parseCidr } from './ip.ts';
import type { SsrfAllow } from './ssrf.ts';

function csv(value: string): string[] {
  return value
    .split(',')
    .map((c) => c.trim())
    .filter(Boolean);
}

/** A malformed range stops start-up with the key named, rather than failing at the first request. */
function cidrList(value: unknown): void {
  for (const c of csv(String(value))) parseCidr(c);
}

/**
 * The SSRF allow-list keys, shared by every service that sends to or accepts webhook URLs (delivery
 * and the API), so an operator sets them once and both agree on what is reachable. Spread into a
 * convict schema as `ssrf: ssrfSchema`.
 */
export const ssrfSchema = {
  allowLoopback: {
    doc: 'Allow webhook URLs that resolve to loopback (127/8, ::1). Tests and local demos only.',
    format: Boolean,
    default: false,
    env: 'SSRF_ALLOW_LOOPBACK',
  },
  allowPrivate: {
    doc: 'Allow private addresses (10/8, 172.16/12, 192.168/16, fc00::/7).',
    format: Boolean,
    default: false,
    env: 'SSRF_ALLOW_PRIVATE',
  },
  allowCidrs: {
    doc: 'Extra ranges allowed whatever their class (e.g. an internal receiver), comma separated CIDRs.',
    format: cidrList,
    default: '',
    env: 'SSRF_ALLOW_CIDRS',
  },
} as const;

export interface SsrfConfig {
  allowLoopback: boolean;
  allowPrivate: boolean;
  allowCidrs: string;
}

export function ssrfAllowFrom(config: SsrfConfig): SsrfAllow {
  return { loopback: config.allowLoopback, private: config.allowPrivate, cidrs: csv(config.allowCidrs) };
}
