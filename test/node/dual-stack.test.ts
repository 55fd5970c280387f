// BEP 32 on real UDP: kadmium nodes on 127.0.0.1 and ::1 at once (this sandbox has ::1; the
// suite fails, not skips, if it does not). Separate v4 and v6 tables, lookups in both families,
// v6 peers, a v6-only node, and --no-ipv6.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { decodeNodes } from '../../src/wire/compact.js';
import { decodeKrpc, encodeQuery } from '../../src/wire/krpc.js';

describe('dual-stack nodes on 127.0.0.1 and ::1', { timeout: 30_000 }, () => {
  const nodes: Dht[] = [];
  let boot: string[] = [];
  before(async () => {
    const first = new Dht({ host: '127.0.0.1', port: 0, bootstrap: false, ipv6: true });
    nodes.push(first);
    await first.listen();
    assert.equal(first.address6?.host, '::1', 'a loopback node pairs with ::1');
    boot = [`127.0.0.1:${first.address.port}`, `[::1]:${first.address6?.port}`];
    for (let i = 0; i < 9; i++)
      nodes.push(new Dht({ host: '127.0.0.1', port: 0, bootstrap: boot, ipv6: true }));
    const joined = await Promise.all(nodes.slice(1).map((n) => n.start({ timeoutMs: 5000 })));
    for (const j of joined) assert.ok(j.ok, j.message);
    await Promise.all(nodes.map((n) => n.findNode(n.id, { timeoutMs: 5000 }).catch(() => undefined)));
  });
  after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
  });

  it('keeps v4 contacts and v6 contacts in separate tables', () => {
    for (const n of nodes) {
      assert.ok(n.table.size >= 3, `v4 table has ${n.table.size}`);
      assert.ok((n.table6?.size ?? 0) >= 3, `v6 table has ${n.table6?.size}`);
      for (const c of n.table.nodes()) assert.equal(c.address.family, 4);
      for (const c of n.table6?.nodes() ?? []) assert.equal(c.address.host, '::1');
      assert.equal(n.stats().routingTable6?.size, n.table6?.size);
    }
  });

  it('finds the closest nodes in both families', async () => {
    const found = await nodes[4]!.findNode(randomBytes(20), { timeoutMs: 5000 });
    assert.ok(found.some((c) => c.address.family === 4));
    assert.ok(found.some((c) => c.address.family === 6));
  });

  it('announces in both families and a lookup finds the v4 and the v6 peer', async () => {
    const infoHash = randomBytes(20);
    const announcer = nodes[3]!;
    const result = await announcer.announce(infoHash, { timeoutMs: 5000 });
    assert.ok(result.announcedTo >= 2, `announced to ${result.announcedTo}`);
    const peers = await nodes[8]!.findPeers(infoHash, { timeoutMs: 5000 });
    const keys = peers.map((p) => `${p.host} ${p.port}`);
    assert.ok(keys.includes(`127.0.0.1 ${announcer.address.port}`), `v4 peer missing from ${keys}`);
    assert.ok(keys.includes(`::1 ${announcer.address6?.port}`), `v6 peer missing from ${keys}`);
  });

  it('serves nodes6 to a want=n6 query over IPv4', async () => {
    const sock = createSocket('udp4');
    try {
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
      // The node may ping us first (we queried it): wait for the reply to our transaction.
      const reply = new Promise<Buffer>((resolve) =>
        sock.on('message', (msg) => {
          const d = decodeKrpc(new Uint8Array(msg));
          if (d.ok && d.message.y === 'r' && d.message.t[0] === 1 && d.message.t[1] === 2) resolve(msg);
        }),
      );
      const q = encodeQuery(new Uint8Array([1, 2]), 'find_node', {
        id: randomBytes(20),
        target: randomBytes(20),
        want: [new Uint8Array([0x6e, 0x34]), new Uint8Array([0x6e, 0x36])],
      });
      sock.send(q, nodes[0]!.address.port, '127.0.0.1');
      const m = decodeKrpc(await reply);
      assert.ok(m.ok && m.message.y === 'r');
      const r = m.message.y === 'r' ? m.message.r : {};
      const v4 = decodeNodes(r.nodes as Uint8Array, 20, 4) ?? [];
      const v6 = decodeNodes(r.nodes6 as Uint8Array, 20, 6) ?? [];
      assert.ok(v4.length >= 3 && v4.every((n) => n.address.host === '127.0.0.1'));
      assert.ok(v6.length >= 3 && v6.every((n) => n.address.host === '::1'), 'nodes6 entries are 38 bytes');
    } finally {
      sock.close();
    }
  });

  it('runs a v6-only node bound to ::1', async () => {
    const v6only = new Dht({ host: '::1', port: 0, bootstrap: [boot[1] as string] });
    try {
      const joined = await v6only.start({ timeoutMs: 5000 });
      assert.ok(joined.ok, joined.message);
      assert.equal(v6only.address.family, 6);
      assert.equal(v6only.table.size, 0, 'no v4 contacts without a v4 socket');
      assert.ok((v6only.table6?.size ?? 0) >= 3);
      const infoHash = randomBytes(20);
      await nodes[2]!.announce(infoHash, { timeoutMs: 5000 });
      const peers = await v6only.findPeers(infoHash, { timeoutMs: 5000 });
      assert.deepEqual(
        peers.map((p) => `${p.host} ${p.port}`),
        [`::1 ${nodes[2]!.address6?.port}`],
      );
    } finally {
      await v6only.close();
    }
  });

  it('opens no v6 socket with ipv6: false', async () => {
    const v4only = new Dht({ host: '127.0.0.1', port: 0, bootstrap: boot, ipv6: false });
    try {
      await v4only.start({ timeoutMs: 5000 });
      assert.equal(v4only.address6, undefined);
      assert.equal(v4only.table6, undefined);
      const found = await v4only.findNode(randomBytes(20), { timeoutMs: 5000 });
      assert.ok(found.length > 0 && found.every((c) => c.address.family === 4));
    } finally {
      await v4only.close();
    }
  });
});
