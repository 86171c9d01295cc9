import { connect, type LookupFunction } from 'node:net';
import { describe, expect, it } from 'vitest';
import { SSRF_ERROR_CODE } from './definitions.ts';
import { classifyIp, parseCidr, parseIp } from './ip.ts';
import { checkUrl, type Resolver, SsrfError, SsrfGuard } from './ssrf.ts';

describe('classifyIp', () => {
  it.each([
    ['127.0.0.1', 'loopback', '127.0.0.0/8'],
    ['127.255.255.254', 'loopback', '127.0.0.0/8'],
    ['::1', 'loopback', '::1/128'],
    ['10.0.0.5', 'private', '10.0.0.0/8'],
    ['172.16.0.1', 'private', '172.16.0.0/12'],
    ['172.31.255.255', 'private', '172.16.0.0/12'],
    ['192.168.1.1', 'private', '192.168.0.0/16'],
    ['169.254.169.254', 'link-local', '169.254.0.0/16'],
    ['169.254.0.1', 'link-local', '169.254.0.0/16'],
    ['fe80::1', 'link-local', 'fe80::/10'],
    ['fe80::1%eth0', 'link-local', 'fe80::/10'],
    ['febf::1', 'link-local', 'fe80::/10'],
    ['fc00::1', 'unique-local', 'fc00::/7'],
    ['fd12:3456::1', 'unique-local', 'fc00::/7'],
    ['0.0.0.0', 'unspecified', '0.0.0.0/32'],
    ['::', 'unspecified', '::/128'],
    ['100.64.0.1', 'cgnat', '100.64.0.0/10'],
    ['100.127.255.255', 'cgnat', '100.64.0.0/10'],
    ['224.0.0.1', 'multicast', '224.0.0.0/4'],
    ['239.255.255.250', 'multicast', '224.0.0.0/4'],
    ['ff02::1', 'multicast', 'ff00::/8'],
    ['255.255.255.255', 'broadcast', '255.255.255.255/32'],
    ['0.1.2.3', 'reserved', '0.0.0.0/8'],
    ['240.0.0.1', 'reserved', '240.0.0.0/4'],
    ['192.0.2.10', 'reserved', '192.0.2.0/24'],
    ['2001:db8::1', 'reserved', '2001:db8::/32'],
    ['2001:0:4136:e378::1', 'reserved', '2001::/23'],
    ['::8.8.8.8', 'reserved', '::/96'],
    ['3fff::1', 'reserved', '3fff::/20'],
    ['4000::1', 'reserved', 'outside 2000::/3'],
    ['not-an-ip', 'invalid', null],
  ])('%s is refused as %s', (ip, reason, range) => {
    expect(classifyIp(ip)).toMatchObject({ public: false, reason, range });
  });

  it.each([
    ['::ffff:10.0.0.1', 'private', '10.0.0.1'],
    ['::ffff:a00:1', 'private', '10.0.0.1'],
    ['::ffff:127.0.0.1', 'loopback', '127.0.0.1'],
    ['::ffff:169.254.169.254', 'link-local', '169.254.169.254'],
    ['64:ff9b::10.0.0.1', 'private', '10.0.0.1'],
    ['64:ff9b::a9fe:a9fe', 'link-local', '169.254.169.254'],
    ['2002:0a00:0001::1', 'private', '10.0.0.1'],
    ['2002:7f00:1::', 'loopback', '127.0.0.1'],
  ])('%s is judged by the IPv4 address it carries (%s)', (ip, reason, v4) => {
    const verdict = classifyIp(ip);
    expect(verdict).toMatchObject({ public: false, reason });
    if (!verdict.public) expect(verdict.embedded).toEqual(parseIp(v4));
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '192.169.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '2002:0808:0808::1',
  ])('%s is public', (ip) => {
    expect(classifyIp(ip).public).toBe(true);
  });

  it('parses every IPv6 spelling to the same value', () => {
    const expected = parseIp('0:0:0:0:0:ffff:a00:1');
    for (const spelling of ['::ffff:10.0.0.1', '::FFFF:0A00:0001', '[::ffff:a00:1]', '0::ffff:10.0.0.1'])
      expect(parseIp(spelling)).toEqual(expected);
    expect(parseCidr('10.0.0.0/33').ok).toBe(false);
    expect(parseCidr('10.0.0.0/8/1').ok).toBe(false);
  });
});

describe('checkUrl', () => {
  it('accepts public http and https URLs', () => {
    expect(checkUrl('https://hooks.example.com/x?y=1').ok).toBe(true);
    expect(checkUrl('http://8.8.8.8:8080/x').ok).toBe(true);
  });

  it.each([
    ['ftp://example.com/x', /scheme must be http or https, not ftp/],
    ['file:///etc/passwd', /scheme/],
    ['not a url', /not a valid absolute URL/],
    ['https://user:pw@example.com/x', /credentials in the URL/],
    ['http://10.0.0.5/hook', /host 10\.0\.0\.5 is a private address \(10\.0\.0\.0\/8\)/],
    ['http://169.254.169.254/latest/meta-data', /link-local/],
    ['http://[::ffff:10.0.0.1]/x', /carries 10\.0\.0\.1, a private address/],
    ['http://[fd00::1]/x', /unique-local/],
    ['http://0x7f.1/x', /loopback/], // WHATWG URL normalises hex/short forms to 127.0.0.1
    ['http://2130706433/x', /loopback/],
    ['http://localhost:8080/x', /loopback name/],
    ['http://api.localhost/x', /loopback name/],
    ['http://0.0.0.0/x', /unspecified/],
  ])('refuses %s with a clear reason', (url, reason) => {
    const result = checkUrl(url);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  it('never echoes URL credentials in the reason', () => {
    const result = checkUrl('https://user:s3cr3t-pass@example.com/x');
    expect(JSON.stringify(result)).not.toContain('s3cr3t');
  });

  it('lets configuration allow loopback, private ranges and explicit CIDRs', () => {
    expect(checkUrl('http://127.0.0.1:3000/x', { loopback: true }).ok).toBe(true);
    expect(checkUrl('http://localhost:3000/x', { loopback: true }).ok).toBe(true);
    expect(checkUrl('http://[::1]:3000/x', { loopback: true }).ok).toBe(true);
    expect(checkUrl('http://10.0.0.5/x', { loopback: true }).ok).toBe(false);
    expect(checkUrl('http://10.0.0.5/x', { private: true }).ok).toBe(true);
    expect(checkUrl('http://[fd00::1]/x', { private: true }).ok).toBe(true);
    // `private` never opens link-local (metadata) or CGNAT; only an explicit range does.
    expect(checkUrl('http://169.254.169.254/x', { private: true }).ok).toBe(false);
    expect(checkUrl('http://100.64.1.2/x', { private: true }).ok).toBe(false);
    expect(checkUrl('http://100.64.1.2/x', { cidrs: ['100.64.0.0/16'] }).ok).toBe(true);
    expect(checkUrl('http://[::ffff:100.64.1.2]/x', { cidrs: ['100.64.0.0/16'] }).ok).toBe(true);
    expect(checkUrl('http://100.65.1.2/x', { cidrs: ['100.64.0.0/16'] }).ok).toBe(false);
  });

  it('stops start-up on a malformed allowed range, naming it', () => {
    expect(() => new SsrfGuard({ allow: { cidrs: ['10.0.0.0/99'] } })).toThrow(
      /"10\.0\.0\.0\/99" is not a CIDR/,
    );
  });
});

/** Calls a LookupFunction the way net.connect does and returns what it answered. */
function callLookup(lookup: LookupFunction, hostname: string, all: boolean) {
  return new Promise<{ error: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
    lookup(hostname, { all, family: 0 }, (error, address, family) => resolve({ error, address, family })),
  );
}

const fakeDns: Resolver = async (hostname) => {
  const table: Record<string, string[]> = {
    'evil.test': ['10.0.0.5'],
    'metadata.test': ['169.254.169.254'],
    'mixed.test': ['93.184.215.14', 'fd00::5'],
    'good.test': ['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c'],
    'mapped.test': ['::ffff:10.1.2.3'],
  };
  const addresses = table[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
};

describe('lookup', () => {
  const guard = new SsrfGuard({ resolve: fakeDns });

  it('refuses a name that resolves to a private address, naming the reason', async () => {
    const { error } = await callLookup(guard.lookup, 'evil.test', false);
    expect(error).toBeInstanceOf(SsrfError);
    expect(error?.code).toBe(SSRF_ERROR_CODE);
    expect(error?.message).toBe('refused evil.test: 10.0.0.5 is a private address (10.0.0.0/8)');
  });

  it.each([
    ['metadata.test', /169\.254\.169\.254 is a link-local address/],
    ['mixed.test', /fd00::5 is a unique-local address/],
    ['mapped.test', /carries 10\.1\.2\.3, a private address/],
  ])('refuses %s (any refused address refuses the name)', async (host, message) => {
    const { error } = await callLookup(guard.lookup, host, true);
    expect(error?.code).toBe(SSRF_ERROR_CODE);
    expect(error?.message).toMatch(message);
  });

  it('answers in both callback shapes net.connect uses for a public name', async () => {
    expect(await callLookup(guard.lookup, 'good.test', false)).toEqual({
      error: null,
      address: '93.184.215.14',
      family: 4,
    });
    const all = await callLookup(guard.lookup, 'good.test', true);
    expect(all.error).toBeNull();
    expect(all.address).toHaveLength(2);
  });

  it('passes resolver failures through unchanged (retryable, not a refusal)', async () => {
    const { error } = await callLookup(guard.lookup, 'nowhere.test', true);
    expect(error?.code).toBe('ENOTFOUND');
  });

  it('refuses localhost through the real resolver unless loopback is allowed', async () => {
    const refused = await callLookup(new SsrfGuard().lookup, 'localhost', true);
    expect(refused.error?.code).toBe(SSRF_ERROR_CODE);
    const allowed = await callLookup(new SsrfGuard({ allow: { loopback: true } }).lookup, 'localhost', true);
    expect(allowed.error).toBeNull();
    expect(allowed.address).toEqual(
      expect.arrayContaining([expect.objectContaining({ address: expect.any(String) })]),
    );
  });

  it('fails a real net.connect before any packet leaves', async () => {
    const error = await new Promise<NodeJS.ErrnoException>((resolve, reject) => {
      const socket = connect({ host: 'evil.test', port: 80, lookup: guard.lookup });
      socket.on('connect', () => reject(new Error('connected')));
      socket.on('error', resolve);
    });
    expect(error.code).toBe(SSRF_ERROR_CODE);
  });
});
