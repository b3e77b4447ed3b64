import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Egress policy for tools that reach the network: only hosts on the agent's allowlist, never a private,
 * loopback, link-local, multicast, reserved or cloud-metadata address, checked on the addresses DNS
 * actually returns (at connect time, so a rebinding answer is caught too), on every redirect, with size
 * and time limits.
 */
export interface EgressPolicy {
  /** `api.example.com` (exact) or `*.example.com` (any subdomain, not the apex). Empty: nothing allowed. */
  allowHosts: readonly string[];
  /** Default 256 KiB; the rest of a body is not read. */
  maxBytes?: number;
  /** Whole fetch, redirects and body included. Default 10 s. */
  timeoutMs?: number;
  /** Default 5. */
  maxRedirects?: number;
  /** Only for tests and on-premises tools: let private (RFC 1918/4193) addresses through. Loopback, link-local and metadata stay refused. */
  allowPrivateNetworks?: boolean;
  /** Exact addresses allowed even though their range is refused (an on-premises service; tests on 127.0.0.1). */
  allowAddresses?: readonly string[];
}

export class EgressError extends Error {
  constructor(
    message: string,
    readonly reason: 'scheme' | 'credentials' | 'host_not_allowed' | 'forbidden_address' | 'dns' | 'redirects' | 'timeout',
  ) {
    super(message);
    this.name = 'EgressError';
  }
}

/** Whether `host` (a URL's hostname) is on the allowlist (same rule as the runtime's http_fetch). */
export function hostAllowed(host: string, allowHosts: readonly string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '').replace(/^\[|\]$/g, '');
  return allowHosts.some((entry) => {
    const e = entry.toLowerCase();
    if (e.startsWith('*.')) return h.endsWith(e.slice(1)) && h.length > e.length - 1;
    return h === e;
  });
}

const always = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, and 169.254.169.254 (AWS, GCP, Azure, OpenStack metadata)
  ['100.100.100.200', 32], // Alibaba Cloud metadata
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) always.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128],
  ['::1', 128],
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
  ['2001:db8::', 32], // documentation
  ['100::', 64], // discard
  ['fd00:ec2::254', 128], // AWS metadata over IPv6
] as const) always.addSubnet(net, bits, 'ipv6');

const privateNets = new BlockList();
for (const [net, bits] of [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['100.64.0.0', 10], // carrier-grade NAT
] as const) privateNets.addSubnet(net, bits, 'ipv4');
privateNets.addSubnet('fc00::', 7, 'ipv6'); // unique local, fd00::/8 included

/** Why an address must not be reached, or undefined when it may. IPv4 inside IPv6 (mapped, NAT64) is judged as IPv4. */
export function forbiddenAddress(address: string, opts: { allowPrivateNetworks?: boolean; allowAddresses?: readonly string[] } = {}): string | undefined {
  if (opts.allowAddresses?.includes(address)) return undefined;
  const family = isIP(address);
  if (family === 0) return 'not an IP address';
  if (family === 6) {
    const lower = address.toLowerCase();
    const embedded = /^(?:::ffff:(?:0:)?|64:ff9b::|::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower)?.[1] ?? mappedHex(lower);
    if (embedded) return forbiddenAddress(embedded, opts);
    if (always.check(address, 'ipv6')) return 'loopback, link-local, multicast, reserved or metadata address';
    if (!opts.allowPrivateNetworks && privateNets.check(address, 'ipv6')) return 'private (unique local) address';
    return undefined;
  }
  if (always.check(address, 'ipv4')) return 'loopback, link-local, multicast, reserved or metadata address';
  if (!opts.allowPrivateNetworks && privateNets.check(address, 'ipv4')) return 'private address';
  return undefined;
}

/** `::ffff:7f00:1` and `64:ff9b::7f00:1` written in hex. */
function mappedHex(a: string): string | undefined {
  const m = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(a);
  if (!m) return undefined;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Checks scheme, credentials and allowlist; throws EgressError. Addresses are checked when connecting. */
export function checkEgressUrl(raw: string, policy: EgressPolicy, what = ''): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EgressError(`${what}"${raw.slice(0, 200)}" is not an absolute URL`, 'scheme');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new EgressError(`${what}${url.protocol} URLs are refused: only http and https`, 'scheme');
  if (url.username || url.password) throw new EgressError(`${what}URLs with credentials are refused`, 'credentials');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (/^metadata(?:\.google\.internal)?$/i.test(host)) throw new EgressError(`${what}host "${host}" is a cloud metadata service`, 'forbidden_address');
  if (!hostAllowed(host, policy.allowHosts)) {
    throw new EgressError(
      policy.allowHosts.length === 0 ? `${what}host "${host}" is refused: no hosts are allowed` : `${what}host "${host}" is refused: not on the allowlist`,
      'host_not_allowed',
    );
  }
  if (isIP(host)) {
    const why = forbiddenAddress(host, policy);
    if (why) throw new EgressError(`${what}address ${host} is refused: ${why}`, 'forbidden_address');
  }
  return url;
}

type Lookup = (hostname: string, options: { all: true }, cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/** A `lookup` for http.request that refuses forbidden addresses; every address returned must pass. */
export function guardedLookup(policy: Pick<EgressPolicy, 'allowPrivateNetworks' | 'allowAddresses'>, resolve: Lookup = dnsLookup as unknown as Lookup): LookupFunction {
  return ((hostname: string, options: unknown, cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
    resolve(hostname, { all: true }, (err, addresses) => {
      if (err) return cb(err, all ? [] : '', 0);
      const bad = addresses.find((a) => forbiddenAddress(a.address, policy));
      if (bad || addresses.length === 0) {
        const e = new EgressError(
          bad ? `${hostname} resolves to ${bad.address}: ${forbiddenAddress(bad.address, policy)}` : `${hostname} has no address`,
          bad ? 'forbidden_address' : 'dns',
        ) as EgressError & NodeJS.ErrnoException;
        return cb(e, all ? [] : '', 0);
      }
      if (all) return cb(null, addresses);
      cb(null, addresses[0]!.address, addresses[0]!.family);
    });
  }) as unknown as LookupFunction;
}

export interface EgressResponse {
  url: string;
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  truncated: boolean;
}

/**
 * GET (or another method) within the egress policy: allowlist, forbidden addresses after DNS (at connect
 * time, also for every redirect), at most `maxRedirects`, `maxBytes` of body, `timeoutMs` in all.
 */
export async function egressFetch(
  raw: string,
  policy: EgressPolicy,
  opts: { method?: string; headers?: Record<string, string>; signal?: AbortSignal; lookup?: Lookup } = {},
): Promise<EgressResponse> {
  const maxBytes = policy.maxBytes ?? 256 * 1024;
  const maxRedirects = policy.maxRedirects ?? 5;
  const timeout = AbortSignal.timeout(policy.timeoutMs ?? 10_000);
  const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
  const lookup = guardedLookup(policy, opts.lookup);
  let url = checkEgressUrl(raw, policy);
  for (let redirects = 0; ; redirects++) {
    const res = await send(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, signal, lookup }).catch((err: unknown) => {
      if (timeout.aborted) throw new EgressError(`no answer within ${policy.timeoutMs ?? 10_000} ms`, 'timeout');
      throw err;
    });
    const location = res.headers.location;
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && typeof location === 'string') {
      res.resume();
      if (redirects >= maxRedirects) throw new EgressError(`too many redirects (more than ${maxRedirects})`, 'redirects');
      url = checkEgressUrl(new URL(location, url).href, policy, 'redirect to ');
      continue;
    }
    const { body, truncated } = await readCapped(res, maxBytes, signal);
    return { url: url.href, status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body, truncated };
  }
}

function send(url: URL, o: { method: string; headers: Record<string, string>; signal: AbortSignal; lookup: LookupFunction }): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const fn = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = fn(url, { method: o.method, headers: o.headers, signal: o.signal, lookup: o.lookup, agent: false }, resolve);
    req.on('error', reject);
    req.end();
  });
}

function readCapped(res: IncomingMessage, maxBytes: number, signal: AbortSignal): Promise<{ body: Buffer; truncated: boolean }> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    const onAbort = () => {
      res.destroy();
      reject(new EgressError('the body did not arrive in time', 'timeout'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    res.on('data', (chunk: Buffer) => {
      const room = maxBytes - size;
      if (chunk.length >= room) {
        parts.push(chunk.subarray(0, room));
        size = maxBytes;
        signal.removeEventListener('abort', onAbort);
        res.destroy();
        resolve({ body: Buffer.concat(parts), truncated: chunk.length > room || !res.complete });
        return;
      }
      parts.push(chunk);
      size += chunk.length;
    });
    res.on('end', () => {
      signal.removeEventListener('abort', onAbort);
      resolve({ body: Buffer.concat(parts), truncated: false });
    });
    res.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}
