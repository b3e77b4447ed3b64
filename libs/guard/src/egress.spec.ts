import { strict as assert } from 'node:assert';
import type { LookupAddress } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EgressError, checkEgressUrl, egressFetch, forbiddenAddress } from './egress';

describe('egress policy: addresses', () => {
  for (const a of ['127.0.0.1', '10.1.2.3', '172.16.0.9', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1', '::1', 'fe80::1', 'fd00::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:7f00:1', '64:ff9b::a9fe:a9fe']) {
    it(`refuses ${a}`, () => assert.ok(forbiddenAddress(a), a));
  }
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111']) {
    it(`allows ${a}`, () => assert.equal(forbiddenAddress(a), undefined));
  }
  it('lets private ranges through only when asked, never loopback or metadata', () => {
    assert.equal(forbiddenAddress('10.0.0.1', { allowPrivateNetworks: true }), undefined);
    assert.ok(forbiddenAddress('169.254.169.254', { allowPrivateNetworks: true }));
    assert.ok(forbiddenAddress('127.0.0.1', { allowPrivateNetworks: true }));
  });
  it('checks scheme, credentials, allowlist and literal addresses before connecting', () => {
    const p = { allowHosts: ['api.example.com', '*.svc.example.com', '169.254.169.254'] };
    assert.equal(checkEgressUrl('https://api.example.com/x', p).hostname, 'api.example.com');
    assert.ok(checkEgressUrl('https://a.svc.example.com/', p));
    for (const [url, reason] of [
      ['ftp://api.example.com/', 'scheme'],
      ['https://u:p@api.example.com/', 'credentials'],
      ['https://svc.example.com/', 'host_not_allowed'],
      ['https://evil.com/', 'host_not_allowed'],
      ['http://169.254.169.254/latest/meta-data/', 'forbidden_address'],
      ['http://metadata.google.internal/', 'forbidden_address'],
    ] as const) {
      assert.throws(() => checkEgressUrl(url, p), (e: EgressError) => e.reason === reason, url);
    }
  });
});

describe('egress policy: fetch', () => {
  let server: Server;
  let port: number;
  /** A resolver with fixed answers: api.test is the local server, evil.test rebinds to the metadata address. */
  const lookup = (host: string, _o: { all: true }, cb: (e: NodeJS.ErrnoException | null, a: LookupAddress[]) => void) => {
    const map: Record<string, string> = { 'api.test': '127.0.0.1', 'evil.test': '169.254.169.254', 'intranet.test': '10.0.0.8' };
    const a = map[host];
    if (!a) return cb(Object.assign(new Error(`ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
    cb(null, [{ address: a, family: 4 }]);
  };
  const policy = (extra = {}) => ({ allowHosts: ['api.test', 'evil.test', 'intranet.test'], allowAddresses: ['127.0.0.1'], ...extra });

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/big') return res.end('x'.repeat(10_000));
      if (req.url === '/slow') return setTimeout(() => res.end('late'), 500);
      if (req.url?.startsWith('/redirect')) {
        res.writeHead(302, { location: new URL(req.url, 'http://x').searchParams.get('to')! });
        return res.end();
      }
      res.end('hello');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('fetches an allowed host and caps the body', async () => {
    const ok = await egressFetch(`http://api.test:${port}/`, policy(), { lookup });
    assert.deepEqual([ok.status, ok.statusText, ok.body.toString(), ok.truncated], [200, 'OK', 'hello', false]);
    const big = await egressFetch(`http://api.test:${port}/big`, policy({ maxBytes: 100 }), { lookup });
    assert.deepEqual([big.body.length, big.truncated], [100, true]);
  });

  it('refuses a host whose DNS answer is a metadata or private address', async () => {
    await assert.rejects(egressFetch(`http://evil.test:${port}/`, policy(), { lookup }), /169\.254\.169\.254/);
    await assert.rejects(egressFetch(`http://intranet.test:${port}/`, policy(), { lookup }), /private/);
  });

  it('re-checks every redirect: off the allowlist, or to a forbidden address', async () => {
    await assert.rejects(egressFetch(`http://api.test:${port}/redirect?to=http://other.test/`, policy(), { lookup }), (e: EgressError) => e.reason === 'host_not_allowed');
    await assert.rejects(egressFetch(`http://api.test:${port}/redirect?to=http://evil.test:${port}/`, policy(), { lookup }), /169\.254\.169\.254/);
    const followed = await egressFetch(`http://api.test:${port}/redirect?to=/`, policy(), { lookup });
    assert.equal(followed.body.toString(), 'hello');
    await assert.rejects(egressFetch(`http://api.test:${port}/redirect?to=/redirect%3Fto%3D/`, policy({ maxRedirects: 1 }), { lookup }), (e: EgressError) => e.reason === 'redirects');
  });

  it('gives up after timeoutMs', async () => {
    await assert.rejects(egressFetch(`http://api.test:${port}/slow`, policy({ timeoutMs: 100 }), { lookup }), (e: EgressError) => e.reason === 'timeout');
  });
});
