import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createHostGuard, parseHostHeader } from '../../src/daemon/http/hosts.js';
import { connectionKey } from '../../src/daemon/http/limits.js';

const at = (address: string, port: number): AddressInfo => ({
  address,
  port,
  family: address.includes(':') ? 'IPv6' : 'IPv4',
});

const hostOk = (guard: ReturnType<typeof createHostGuard>, host: string | undefined): boolean =>
  guard.checkHost(host) === undefined;

describe('Host and Origin guard', () => {
  it('parses Host values and canonicalises IPv6 literals', () => {
    assert.deepEqual(parseHostHeader('LocalHost:7881'), { name: 'localhost', port: 7881 });
    assert.deepEqual(parseHostHeader('[0:0:0:0:0:0:0:1]:80'), { name: '[::1]', port: 80 });
    assert.deepEqual(parseHostHeader('kadmium.lan'), { name: 'kadmium.lan', port: undefined });
    for (const bad of ['a b', 'x:0', 'x:99999', '[zz]:1', 'user@host:1', 'http://x', ''])
      assert.equal(parseHostHeader(bad), undefined, bad);
  });

  it('on loopback: the bound literal and localhost on our port, nothing else', () => {
    const g = createHostGuard(at('127.0.0.1', 7881), []);
    assert.ok(hostOk(g, '127.0.0.1:7881'));
    assert.ok(hostOk(g, 'localhost:7881'));
    for (const bad of [
      '127.0.0.1',
      '127.0.0.2:7881',
      'localhost:7882',
      'attacker.example:7881',
      '[::1]:7881',
    ])
      assert.ok(!hostOk(g, bad), bad);
    const missing = g.checkHost(undefined);
    assert.equal(missing?.status, 400);
    const refused = g.checkHost('attacker.example:7881');
    assert.equal(refused?.status, 403);
    assert.match(refused?.message ?? '', /api\.allowed_hosts.*KADMIUM_API_ALLOWED_HOSTS/);
  });

  it('on ::1 and on port 80, where Host may leave the port out', () => {
    const v6 = createHostGuard(at('::1', 7881), []);
    assert.ok(hostOk(v6, '[::1]:7881'));
    assert.ok(hostOk(v6, '[0::1]:7881'));
    assert.ok(hostOk(v6, 'localhost:7881'));
    assert.ok(!hostOk(v6, '127.0.0.1:7881'));
    const p80 = createHostGuard(at('127.0.0.1', 80), []);
    assert.ok(hostOk(p80, '127.0.0.1'));
    assert.ok(hostOk(p80, 'localhost'));
  });

  it('bound to every address: any IP literal on our port (literals cannot be rebound), no other names', () => {
    const g = createHostGuard(at('0.0.0.0', 7881), ['kadmium.lan', 'proxy.lan:8443']);
    for (const good of [
      '192.168.1.5:7881',
      '10.0.0.1:7881',
      '[fd00::5]:7881',
      'localhost:7881',
      'kadmium.lan',
      'kadmium.lan:1',
      'proxy.lan:8443',
    ])
      assert.ok(hostOk(g, good), good);
    for (const bad of ['192.168.1.5:7882', 'evil.example:7881', 'proxy.lan:8444', 'proxy.lan'])
      assert.ok(!hostOk(g, bad), bad);
  });

  it('Origin: absent passes; the same origins as Host pass; others and "null" are refused', () => {
    const g = createHostGuard(at('127.0.0.1', 7881), ['kadmium.lan:443']);
    assert.equal(g.checkOrigin(undefined), undefined);
    for (const good of ['http://127.0.0.1:7881', 'http://localhost:7881', 'https://kadmium.lan'])
      assert.equal(g.checkOrigin(good), undefined, good);
    for (const bad of [
      'http://attacker.example:7881',
      'http://127.0.0.1',
      'null',
      'file://',
      'ftp://127.0.0.1:7881',
      'http://kadmium.lan',
    ]) {
      const e = g.checkOrigin(bad);
      assert.equal(e?.status, 403, bad);
      assert.equal(e?.code, 'ORIGIN_NOT_ALLOWED');
    }
  });

  it('counts connections per IPv4 address (also IPv4-mapped) and per IPv6 /64', () => {
    assert.equal(connectionKey('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(connectionKey('10.1.2.3'), '10.1.2.3');
    assert.equal(connectionKey('2001:db8:1:2::1'), connectionKey('2001:db8:1:2:ffff::9'));
    assert.notEqual(connectionKey('2001:db8:1:2::1'), connectionKey('2001:db8:1:3::1'));
  });
});
