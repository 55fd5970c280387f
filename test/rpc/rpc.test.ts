import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rpc } from '../../src/rpc/rpc.js';
import { LIMITED_FOR_MS, RateLimiter, rateLimitKey } from '../../src/rpc/rate-limit.js';
import { TransactionTable } from '../../src/rpc/transactions.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import { decodeKrpc, encodeQuery, encodeResponse } from '../../src/wire/krpc.js';

function setup(latencyMs = 5) {
  const clock = new VirtualClock();
  const random = new SeededRandom(3);
  const net = new MemoryNetwork({ clock, random, latencyMs: () => latencyMs });
  return { clock, random, net };
}

/** A raw endpoint that records what it receives and can answer by hand. */
function rawPeer(net: MemoryNetwork, host: string) {
  const t = net.createTransport(host);
  const received: { data: Uint8Array; from: { host: string; port: number } }[] = [];
  t.onMessage((data, from) => received.push({ data, from }));
  return { t, received };
}

describe('transaction table', () => {
  it('allocates compact ids, wraps, and matches only the queried address', () => {
    const table = new TransactionTable<string>(0xfffe, 4);
    const to = { host: '1.1.1.1', port: 1, family: 4 as const };
    const a = table.add(to, 'a');
    const b = table.add(to, 'b');
    const c = table.add(to, 'c');
    assert.deepEqual(
      [a, b, c].map((x) => x?.id),
      [0xfffe, 0xffff, 0],
    );
    assert.equal(a?.tid.length, 2);
    assert.equal(table.match(a!.tid, to), a);
    assert.equal(table.match(a!.tid, { ...to, port: 2 }), undefined, 'another port is another address');
    assert.equal(table.match(new Uint8Array([1, 2, 3]), to), undefined);
    table.add(to, 'd');
    assert.equal(table.add(to, 'e'), undefined, 'full at capacity');
    assert.ok(table.delete(a!));
    assert.equal(table.match(a!.tid, to), undefined);
  });
});

describe('rpc engine', () => {
  it('matches a reply to its query and measures the round trip', async () => {
    const { clock, random, net } = setup(5);
    const rpc = new Rpc({ transport: net.createTransport('1.0.0.1'), clock, random });
    const peer = rawPeer(net, '1.0.0.2');
    const pending = rpc.query(peer.t.address, 'ping', { id: new Uint8Array(20) });
    await clock.advance(5);
    assert.equal(peer.received.length, 1);
    const q = decodeKrpc(peer.received[0]!.data);
    assert.ok(q.ok && q.message.y === 'q' && q.message.q === 'ping');
    peer.t.send(encodeResponse(q.message.t, { id: new Uint8Array(20).fill(1) }), rpc.address);
    await clock.advance(5);
    const reply = await pending;
    assert.equal(reply.rttMs, 10);
    assert.deepEqual(reply.r.id, new Uint8Array(20).fill(1));
    assert.deepEqual(rpc.stats.snapshot().outbound.ping, { tx: 1, rx: 1, errors: 0, timeouts: 0 });
  });

  it('ignores a reply from an address it did not query', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({
      transport: net.createTransport('1.0.0.1'),
      clock,
      random,
      timeoutMs: 100,
      retries: 0,
    });
    const peer = rawPeer(net, '1.0.0.2');
    const impostor = rawPeer(net, '1.0.0.3');
    const pending = rpc.query(peer.t.address, 'ping', {});
    pending.catch(() => undefined);
    await clock.advance(1);
    const q = decodeKrpc(peer.received[0]!.data);
    assert.ok(q.ok);
    impostor.t.send(encodeResponse(q.message.t, { id: new Uint8Array(20) }), rpc.address);
    await clock.advance(200);
    await assert.rejects(pending, { code: 'TIMEOUT' });
    assert.equal(rpc.stats.dropped.unsolicited, 1);
  });

  it('retries once after a timeout, then gives up; the short timeout fires before', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({
      transport: net.createTransport('1.0.0.1'),
      clock,
      random,
      timeoutMs: 1000,
      shortTimeoutMs: 300,
    });
    const silent = rawPeer(net, '1.0.0.2');
    let slowAt = -1;
    const pending = rpc.query(silent.t.address, 'find_node', {}, { onSlow: () => (slowAt = clock.now()) });
    let settledAt = -1;
    pending.catch(() => (settledAt = clock.now()));
    // Queries share send slabs: fill several more before the retry, which must resend the same bytes.
    const other = rawPeer(net, '1.0.0.3');
    for (let i = 0; i < 200; i++) {
      rpc
        .query(other.t.address, 'ping', { pad: new Uint8Array(100).fill(i) }, { retries: 0 })
        .catch(() => {});
    }
    await clock.advance(5000);
    assert.equal(slowAt, 300);
    assert.equal(silent.received.length, 2, 'the query was sent twice');
    assert.deepEqual(silent.received[1]!.data, silent.received[0]!.data, 'the retry resends the same bytes');
    assert.equal(other.received.length, 200);
    assert.equal(settledAt, 2000);
    await assert.rejects(pending, { code: 'TIMEOUT' });
    assert.equal(rpc.stats.out('find_node').timeouts, 1);
    assert.equal(rpc.inFlight, 0);
  });

  it('uses a late reply that arrives after the short timeout', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({
      transport: net.createTransport('1.0.0.1'),
      clock,
      random,
      timeoutMs: 2000,
      shortTimeoutMs: 100,
    });
    const peer = rawPeer(net, '1.0.0.2');
    let slow = false;
    const pending = rpc.query(peer.t.address, 'ping', {}, { onSlow: () => (slow = true) });
    await clock.advance(500);
    assert.ok(slow);
    const q = decodeKrpc(peer.received[0]!.data);
    assert.ok(q.ok);
    peer.t.send(encodeResponse(q.message.t, { id: new Uint8Array(20) }), rpc.address);
    await clock.advance(10);
    assert.equal((await pending).rttMs, 501);
  });

  it('takes the short timeout per destination, and reports RTTs of first sends only', async () => {
    const { clock, random, net } = setup(1);
    const rtts: { host: string; rttMs: number }[] = [];
    const rpc = new Rpc({
      transport: net.createTransport('1.0.0.1'),
      clock,
      random,
      timeoutMs: 1000,
      shortTimeoutMs: 500,
      shortTimeoutFor: (to) => (to.host === '1.0.0.2' ? 120 : 500),
      onRtt: (from, rttMs) => rtts.push({ host: from.host, rttMs }),
    });
    const fast = rawPeer(net, '1.0.0.2');
    const other = rawPeer(net, '1.0.0.3');
    const slowAt: Record<string, number> = {};
    const a = rpc.query(fast.t.address, 'ping', {}, { onSlow: () => (slowAt.fast = clock.now()) });
    const b = rpc.query(other.t.address, 'ping', {}, { onSlow: () => (slowAt.other = clock.now()) });
    await clock.advance(600);
    assert.deepEqual(slowAt, { fast: 120, other: 500 });
    // The first answers its first send; the other answers after its retry (sent at 1000 ms).
    const answer = (peer: ReturnType<typeof rawPeer>, i: number): void => {
      const q = decodeKrpc(peer.received[i]!.data);
      assert.ok(q.ok);
      peer.t.send(encodeResponse(q.message.t, { id: new Uint8Array(20) }), rpc.address);
    };
    answer(fast, 0);
    await clock.advance(500);
    assert.equal(other.received.length, 2, 'retried');
    answer(other, 1);
    await clock.advance(10);
    assert.equal((await a).rttMs, 601);
    assert.ok((await b).rttMs > 1000);
    assert.deepEqual(rtts, [{ host: '1.0.0.2', rttMs: 601 }], 'a retried query says nothing of the RTT');
  });

  it('answers a malformed query with 203 echoing t, and raw garbage with silence', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({ transport: net.createTransport('1.0.0.1'), clock, random });
    const peer = rawPeer(net, '1.0.0.2');
    peer.t.send(Buffer.from('d1:q4:ping1:t2:xy1:y1:qe'), rpc.address); // no "a"
    peer.t.send(Buffer.from('\x00\x01garbage'), rpc.address);
    await clock.advance(10);
    assert.equal(peer.received.length, 1);
    const e = decodeKrpc(peer.received[0]!.data);
    assert.ok(e.ok && e.message.y === 'e');
    if (e.ok && e.message.y === 'e') {
      assert.equal(e.message.code, 203);
      assert.deepEqual(e.message.t, new Uint8Array(Buffer.from('xy')));
    }
    assert.equal(rpc.stats.dropped.malformed, 2);
  });

  it('counts the known methods by name always, and every junk method name in one bucket', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({ transport: net.createTransport('1.0.0.1'), clock, random, rateLimit: false });
    rpc.onQuery(() => undefined);
    const peer = rawPeer(net, '1.0.0.2');
    const query = (q: string) => encodeQuery(new Uint8Array([1, 2]), q, { id: new Uint8Array(20) });
    // Junk first, more names than the old 64-entry table held, a CR among them.
    for (let i = 0; i < 100; i++) peer.t.send(query(`junk${i}`), rpc.address);
    peer.t.send(query('x\r\nlabel="y"'), rpc.address);
    await clock.advance(10);
    for (const q of ['get', 'sample_infohashes', 'get', 'ping']) peer.t.send(query(q), rpc.address);
    await clock.advance(10);
    const inbound = rpc.stats.snapshot().inbound;
    assert.deepEqual(Object.keys(inbound).sort(), ['get', 'other', 'ping', 'sample_infohashes']);
    assert.equal(inbound.get?.rx, 2);
    assert.equal(inbound.sample_infohashes?.rx, 1);
    assert.equal(inbound.other?.rx, 101);
  });

  it('counts by name only the methods it is told about', async () => {
    const { clock, random, net } = setup(1);
    const transport = net.createTransport('1.0.0.1');
    const rpc = new Rpc({ transport, clock, random, rateLimit: false, knownMethods: ['hello'] });
    rpc.onQuery(() => undefined);
    const peer = rawPeer(net, '1.0.0.2');
    for (const q of ['hello', 'get_peers'])
      peer.t.send(encodeQuery(new Uint8Array([1]), q, { id: new Uint8Array(20) }), rpc.address);
    await clock.advance(10);
    assert.deepEqual(Object.keys(rpc.stats.snapshot().inbound).sort(), ['hello', 'other']);
  });

  it('rate-limits inbound queries per IP (loopback exempt by default)', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({
      transport: net.createTransport('1.0.0.1'),
      clock,
      random,
      rateLimit: { perSecond: 10, burst: 5, maxTracked: 100 },
    });
    let handled = 0;
    rpc.onQuery(() => handled++);
    const flood = rawPeer(net, '1.0.0.2');
    const ping = Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe');
    for (let i = 0; i < 50; i++) flood.t.send(ping, rpc.address);
    await clock.advance(10);
    assert.equal(handled, 5, 'the burst passes, the rest is dropped');
    assert.equal(rpc.stats.dropped.rateLimited, 45);
    await clock.advance(1000);
    for (let i = 0; i < 50; i++) flood.t.send(ping, rpc.address);
    await clock.advance(10);
    assert.equal(handled, 10, 'refilled at 10/s, capped at the burst');
  });

  it('keys IPv6 senders on their /64: a whole /64 shares one bucket', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({
      transport: net.createTransport('2001:db8::1'),
      clock,
      random,
      rateLimit: { perSecond: 10, burst: 5, maxTracked: 100 },
    });
    let handled = 0;
    rpc.onQuery(() => handled++);
    const ping = Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe');
    // Twenty hosts of one /64, two queries each: one bucket of 5.
    for (let i = 1; i <= 20; i++) {
      const peer = rawPeer(net, `2001:db8:0:7::${i.toString(16)}`);
      peer.t.send(ping, rpc.address);
      peer.t.send(ping, rpc.address);
    }
    await clock.advance(10);
    assert.equal(handled, 5, 'one /64 gets one bucket, however many addresses it uses');
    assert.ok(rpc.limited('2001:db8:0:7::ffff'), 'the whole /64 counts as limited');
    assert.equal(rpc.limited('2001:db8:0:8::1'), false, 'the next /64 does not');
    rawPeer(net, '2001:db8:0:8::1').t.send(ping, rpc.address);
    await clock.advance(10);
    assert.equal(handled, 6, 'another /64 has its own bucket');
  });

  it('derives limiter keys: IPv4 as is, IPv4-mapped as IPv4, IPv6 by /64', () => {
    assert.equal(rateLimitKey('1.2.3.4'), '1.2.3.4');
    assert.equal(rateLimitKey('::ffff:1.2.3.4'), '1.2.3.4');
    assert.equal(rateLimitKey('2001:db8:0:7::1'), rateLimitKey('2001:0db8:0000:0007:ffff:1:2:3'));
    assert.notEqual(rateLimitKey('2001:db8:0:7::1'), rateLimitKey('2001:db8:0:6::1'));
    assert.equal(rateLimitKey('2001:db8:0:7::1'), '2001:0db8:0000:0007::/64');
  });

  it('rate-limits loopback senders when told to, remembers whom it dropped, and says so once', async () => {
    const { clock, random, net } = setup(1);
    const limitedKeys: string[] = [];
    const rpc = new Rpc({
      transport: net.createTransport('127.0.0.1'),
      clock,
      random,
      rateLimit: { perSecond: 10, burst: 5, maxTracked: 100 },
      rateLimitLoopback: true,
      onLimited: (key) => limitedKeys.push(key),
    });
    let handled = 0;
    rpc.onQuery(() => handled++);
    const ping = Buffer.from('d1:ad2:id20:aaaaaaaaaaaaaaaaaaaae1:q4:ping1:t2:aa1:y1:qe');
    const flood = rawPeer(net, '127.0.0.3');
    assert.equal(rpc.limited('127.0.0.3'), false);
    for (let i = 0; i < 50; i++) flood.t.send(ping, rpc.address);
    await clock.advance(10);
    assert.equal(handled, 5);
    assert.ok(rpc.limited('127.0.0.3'));
    assert.equal(rpc.limited('127.0.0.2'), false);
    assert.deepEqual(limitedKeys, ['127.0.0.3'], 'told once, at the first drop');
    // Refilled but still remembered: a flood that pauses does not look honest at once.
    await clock.advance(LIMITED_FOR_MS - 1000);
    assert.ok(rpc.limited('127.0.0.3'));
    await clock.advance(1000);
    assert.equal(rpc.limited('127.0.0.3'), false, 'forgiven LIMITED_FOR_MS after the last drop');
  });

  it('bounds the rate limiter table', () => {
    const limiter = new RateLimiter({ perSecond: 1, burst: 1, maxTracked: 100 });
    for (let i = 0; i < 1000; i++) limiter.allow(`10.0.${i >> 8}.${i & 255}`, 0);
    assert.ok(limiter.tracked <= 100);
  });

  it('rejects in-flight queries when closed, and every call after', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({ transport: net.createTransport('1.0.0.1'), clock, random });
    const peer = rawPeer(net, '1.0.0.2');
    const pending = rpc.query(peer.t.address, 'ping', {});
    await rpc.close();
    await assert.rejects(pending, { code: 'CLOSED' });
    await assert.rejects(rpc.query(peer.t.address, 'ping', {}), { code: 'CLOSED' });
  });

  it('aborts a query when its signal aborts', async () => {
    const { clock, random, net } = setup(1);
    const rpc = new Rpc({ transport: net.createTransport('1.0.0.1'), clock, random });
    const peer: MemoryTransport = net.createTransport('1.0.0.2');
    const controller = new AbortController();
    const pending = rpc.query(peer.address, 'ping', {}, { signal: controller.signal });
    controller.abort();
    await assert.rejects(pending, { code: 'ABORTED' });
    assert.equal(rpc.inFlight, 0);
  });
});
