import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Address } from '../../src/transport/address.js';
import { createUdpTransport, type UdpTransport } from '../../src/transport/udp.js';

function nextDatagram(t: UdpTransport): Promise<{ data: Uint8Array; from: Address }> {
  return new Promise((resolve) => t.onMessage((data, from) => resolve({ data: data.slice(), from })));
}

describe('UDP transport', () => {
  it('sends to IP literals (answered without DNS) and to names (through DNS)', async () => {
    const a = await createUdpTransport({ host: '127.0.0.1', port: 0 });
    const b = await createUdpTransport({ host: '127.0.0.1', port: 0 });
    try {
      let got = nextDatagram(b);
      a.send(Uint8Array.of(1, 2, 3), { host: '127.0.0.1', port: b.address.port, family: 4 });
      assert.deepEqual((await got).data, Uint8Array.of(1, 2, 3));
      assert.equal((await got).from.port, a.address.port);
      got = nextDatagram(b);
      a.send(Uint8Array.of(4), { host: 'localhost', port: b.address.port, family: 4 });
      assert.deepEqual((await got).data, Uint8Array.of(4));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('binds to a name', async () => {
    const t = await createUdpTransport({ host: 'localhost', port: 0 });
    try {
      assert.equal(t.address.host, '127.0.0.1');
    } finally {
      await t.close();
    }
  });

  it('still reports send failures through onError', async () => {
    const t = await createUdpTransport({ host: '0.0.0.0', port: 0 });
    try {
      const failed = new Promise<Error>((resolve) => t.onError(resolve));
      // Broadcast without SO_BROADCAST is refused by the kernel (EACCES).
      t.send(Uint8Array.of(1), { host: '255.255.255.255', port: 9, family: 4 });
      assert.match((await failed).message, /EACCES/);
    } finally {
      await t.close();
    }
  });
});
