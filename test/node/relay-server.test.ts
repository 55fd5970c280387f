// The relaying node's budgets and its refusal to carry frames outside a circuit, on a virtual clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  MAX_RELAY_CIRCUITS,
  RELAY_CIRCUIT_BYTES_PER_S,
  RELAY_CIRCUITS_PER_HOST,
  RelayServer,
} from '../../src/node/relay-server.js';
import type { Rpc } from '../../src/rpc/rpc.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import type { Address } from '../../src/transport/address.js';
import { decodeRelayFrame, encodeRelayFrame } from '../../src/wire/relay-frame.js';

const addr = (host: string, port = 6881): Address => ({ host, port, family: 4 });

function setup(accept = true) {
  const clock = new VirtualClock();
  const sent: { to: Address; data: Uint8Array }[] = [];
  const offers: Address[] = [];
  const rpc = {
    query: (to: Address) => {
      offers.push(to);
      return accept ? Promise.resolve({}) : Promise.reject(new Error('refused'));
    },
  } as unknown as Rpc;
  // Every target with a host in 10.0.0.0/8 "queried us recently", under port 7000.
  const inTouch = (w: Address) => (w.host.startsWith('10.') ? [addr(w.host, 7000)] : []);
  const server = new RelayServer(
    () => rpc,
    () => new Uint8Array(20),
    inTouch,
    (data, to) => sent.push({ to, data }),
    clock,
    new AbortController().signal,
  );
  return { clock, server, sent, offers };
}

describe('relay server', () => {
  it('carries frames both ways along a circuit, each end naming the other as it knows it', async () => {
    const { server, sent, offers } = setup();
    const a = addr('203.0.113.5', 40000);
    const named = addr('10.0.0.2');
    assert.equal(await server.open(a, named), undefined);
    assert.deepEqual(offers, [addr('10.0.0.2', 7000)], 'the offer goes where the target reached us from');
    server.forward(encodeRelayFrame(named, new Uint8Array([1, 2])) as Uint8Array, a);
    server.forward(encodeRelayFrame(a, new Uint8Array([3])) as Uint8Array, addr('10.0.0.2', 7000));
    assert.equal(sent.length, 2);
    assert.deepEqual(sent[0]?.to, addr('10.0.0.2', 7000));
    assert.deepEqual(decodeRelayFrame(sent[0]!.data)?.peer, a);
    assert.deepEqual(sent[1]?.to, a);
    assert.deepEqual(
      decodeRelayFrame(sent[1]!.data)?.peer,
      named,
      'the requester sees the name it asked for',
    );
    assert.equal(server.stats.bytes, 3);
  });

  it('drops frames outside a circuit and refuses targets not in touch or that decline', async () => {
    const { server, sent } = setup(false);
    server.forward(
      encodeRelayFrame(addr('10.0.0.9'), new Uint8Array([1])) as Uint8Array,
      addr('203.0.113.5'),
    );
    assert.equal(sent.length, 0);
    assert.equal(server.stats.dropped, 1);
    assert.match((await server.open(addr('203.0.113.5'), addr('192.0.2.1'))) ?? '', /not queried this node/);
    assert.match((await server.open(addr('203.0.113.5'), addr('10.0.0.3'))) ?? '', /did not accept/);
    assert.equal(server.stats.refused, 2);
  });

  it('holds each circuit to its rate, and each requester IP and the table to their sizes', async () => {
    const { clock, server, sent } = setup();
    const a = addr('203.0.113.5', 40000);
    const named = addr('10.0.0.2');
    await server.open(a, named);
    const chunk = new Uint8Array(1000);
    const burst = Math.ceil(RELAY_CIRCUIT_BYTES_PER_S / 1000) + 10;
    for (let i = 0; i < burst; i++) server.forward(encodeRelayFrame(named, chunk) as Uint8Array, a);
    assert.equal(
      sent.length,
      Math.floor(RELAY_CIRCUIT_BYTES_PER_S / 1000),
      'a second carries its rate, no more',
    );
    assert.ok(server.stats.dropped >= 10);
    await clock.advance(1000);
    server.forward(encodeRelayFrame(named, chunk) as Uint8Array, a);
    assert.equal(
      sent.length,
      Math.floor(RELAY_CIRCUIT_BYTES_PER_S / 1000) + 1,
      'the next second carries again',
    );
    for (let i = 1; i < RELAY_CIRCUITS_PER_HOST; i++)
      assert.equal(await server.open(a, addr(`10.0.1.${i}`)), undefined);
    assert.match(
      (await server.open(a, addr('10.0.2.1'))) ?? '',
      new RegExp(`holds ${RELAY_CIRCUITS_PER_HOST} circuits`),
    );
    for (let i = 0; server.stats.circuits < MAX_RELAY_CIRCUITS; i++)
      assert.equal(await server.open(addr(`198.51.100.${i}`), addr(`10.0.3.${i}`)), undefined);
    assert.match(
      (await server.open(addr('192.0.2.200'), addr('10.0.4.1'))) ?? '',
      new RegExp(`all ${MAX_RELAY_CIRCUITS} circuits`),
    );
  });
});
