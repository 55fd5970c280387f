import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { constantLatency } from '../../src/sim/latency.js';
import { SimNetwork } from '../../src/sim/network.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { SeededRandom } from '../../src/util/random.js';

function setup(opts: { lossRate?: number; duplicateRate?: number; natMappingMs?: number } = {}) {
  const clock = new VirtualClock();
  const net = new SimNetwork({ clock, random: new SeededRandom(3), latency: constantLatency(10), ...opts });
  return { clock, net };
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe('simulated network', () => {
  it('delivers after the modelled latency, to public unique addresses', async () => {
    const { clock, net } = setup();
    const a = net.createEndpoint();
    const b = net.createEndpoint();
    assert.notEqual(a.address.host, b.address.host);
    const got: number[] = [];
    b.onMessage(() => got.push(clock.now()));
    a.send(bytes('x'), b.address);
    await clock.advance(9);
    assert.deepEqual(got, []);
    await clock.advance(1);
    assert.deepEqual(got, [10]);
  });

  it('partitions drop datagrams between groups until healed', async () => {
    const { clock, net } = setup();
    const eps = Array.from({ length: 4 }, () => net.createEndpoint());
    const got = eps.map(() => 0);
    eps.forEach((e, i) => e.onMessage(() => got[i]!++));
    net.partition((e) => (eps.indexOf(e) < 2 ? 0 : 1));
    eps[0]!.send(bytes('same side'), eps[1]!.address);
    eps[0]!.send(bytes('across'), eps[2]!.address);
    eps[3]!.send(bytes('across'), eps[1]!.address);
    await clock.advance(20);
    assert.deepEqual(got, [0, 1, 0, 0]);
    assert.equal(net.counters.partitioned, 2);
    net.heal();
    eps[0]!.send(bytes('across'), eps[2]!.address);
    await clock.advance(20);
    assert.deepEqual(got, [0, 1, 1, 0]);
  });

  it('a NATed endpoint gets replies to its own datagrams but drops unsolicited ones', async () => {
    const { clock, net } = setup({ natMappingMs: 1000 });
    const natted = net.createEndpoint({ nat: true });
    const server = net.createEndpoint();
    const stranger = net.createEndpoint();
    const got: string[] = [];
    natted.onMessage((_d, from) => got.push(from.host));
    server.onMessage((_d, from) => server.send(bytes('reply'), from));
    stranger.send(bytes('hello'), natted.address);
    await clock.advance(50);
    assert.deepEqual(got, [], 'unsolicited inbound is dropped');
    natted.send(bytes('query'), server.address);
    await clock.advance(50);
    assert.deepEqual(got, [server.address.host], 'the reply gets through the mapping');
    stranger.send(bytes('hello again'), natted.address);
    await clock.advance(50);
    assert.equal(got.length, 1, 'the mapping is per remote address');
    await clock.advance(2000);
    server.send(bytes('late'), natted.address);
    await clock.advance(50);
    assert.equal(got.length, 1, 'the mapping expired');
    assert.equal(net.counters.natDropped, 3);
  });

  it('models the test bed NAT types: who gets in, and the port each destination sees', async () => {
    const { clock, net } = setup({ natMappingMs: 1000 });
    const full = net.createEndpoint({ nat: 'full-cone' });
    const addr = net.createEndpoint({ nat: 'address-restricted' });
    const sym = net.createEndpoint({ nat: 'symmetric' });
    const server = net.createEndpoint({ host: '9.9.9.9', port: 1 });
    const sameIp = net.createEndpoint({ host: '9.9.9.9', port: 2 });
    const stranger = net.createEndpoint();
    const got = new Map<string, string[]>();
    for (const [name, e] of [
      ['full', full],
      ['addr', addr],
      ['sym', sym],
      ['server', server],
      ['sameIp', sameIp],
    ] as const)
      e.onMessage((_d, from) => got.set(name, [...(got.get(name) ?? []), `${from.host}:${from.port}`]));
    for (const e of [full, addr, sym]) e.send(bytes('open'), server.address);
    await clock.advance(50);
    const seen = got.get('server') ?? [];
    assert.equal(seen[0], `${full.address.host}:${full.address.port}`, 'cone NATs keep the port');
    assert.equal(seen[1], `${addr.address.host}:${addr.address.port}`);
    const symToServer = seen[2] as string;
    assert.notEqual(symToServer, `${sym.address.host}:${sym.address.port}`, 'symmetric picks a new port');
    sym.send(bytes('again'), server.address);
    sym.send(bytes('other'), sameIp.address);
    await clock.advance(50);
    assert.equal(got.get('server')?.[3], symToServer, 'the same destination sees the same port');
    assert.notEqual(got.get('sameIp')?.[0], symToServer, 'another destination sees another port');
    // Inbound: the full cone lets a stranger in, address-restricted only the same IP.
    stranger.send(bytes('x'), full.address);
    stranger.send(bytes('x'), addr.address);
    sameIp.send(bytes('x'), addr.address);
    sameIp.send(bytes('x'), { ...sym.address, port: Number(symToServer.split(':')[1]) });
    server.send(bytes('x'), sym.address);
    server.send(bytes('reply'), { ...sym.address, port: Number(symToServer.split(':')[1]) });
    await clock.advance(50);
    assert.equal(got.get('full')?.length, 1, 'full cone: a stranger gets in');
    assert.deepEqual(got.get('addr'), ['9.9.9.9:2'], 'address-restricted: the IP we sent to, any port');
    assert.deepEqual(got.get('sym'), ['9.9.9.9:1'], 'symmetric: only the destination, on its own port');
    assert.equal(net.counters.natDropped, 3);
    await clock.advance(2000);
    stranger.send(bytes('late'), full.address);
    await clock.advance(50);
    assert.equal(got.get('full')?.length, 1, 'the full cone closes when its mappings expire');
  });

  it('loses and duplicates at the configured rates, reproducibly', async () => {
    const run = async () => {
      const { clock, net } = setup({ lossRate: 0.1, duplicateRate: 0.05 });
      const a = net.createEndpoint();
      const b = net.createEndpoint();
      let received = 0;
      b.onMessage(() => received++);
      for (let i = 0; i < 10_000; i++) a.send(bytes('x'), b.address);
      await clock.advance(20);
      return { received, ...net.counters };
    };
    const first = await run();
    assert.ok(Math.abs(first.lost / 10_000 - 0.1) < 0.015, `lost ${first.lost}`);
    assert.ok(Math.abs(first.duplicated / 9_000 - 0.05) < 0.01, `duplicated ${first.duplicated}`);
    assert.equal(first.received, 10_000 - first.lost + first.duplicated);
    assert.deepEqual(await run(), first);
  });

  it('a closed endpoint receives nothing and frees its address', async () => {
    const { clock, net } = setup();
    const a = net.createEndpoint();
    const b = net.createEndpoint({ host: '5.6.7.8' });
    let got = 0;
    b.onMessage(() => got++);
    a.send(bytes('in flight'), b.address);
    await b.close();
    await clock.advance(20);
    assert.equal(got, 0);
    assert.equal(net.size, 1);
    net.createEndpoint({ host: '5.6.7.8' });
  });
});
