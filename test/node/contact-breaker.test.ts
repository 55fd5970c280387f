import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { CONTACT_FAILURES_TO_OPEN } from '../../src/kademlia/contact-breaker.js';
import { asNodeId } from '../../src/kademlia/id.js';
import { Dht } from '../../src/node/dht.js';
import { metricsText } from '../../src/services/metrics.js';
import { Statistics } from '../../src/services/statistics.js';

/** Past the query timeout (200 ms) and its retry: the timeout has been reported. */
const SETTLE_MS = 800;

/**
 * A node keeps being told about a contact that never answers (as other nodes' stale tables
 * refer to it). After CONTACT_FAILURES_TO_OPEN timeouts its breaker opens and the next lookup
 * sends it nothing, where before it was asked every time.
 */
describe('a contact that keeps timing out is skipped', () => {
  let silent: Socket | undefined;
  let dht: Dht | undefined;
  let received = 0;

  before(async () => {
    silent = createSocket('udp4');
    silent.on('message', () => received++);
    silent.bind(0, '127.0.0.1');
    await once(silent, 'listening');
  });

  after(async () => {
    await dht?.close();
    silent?.close();
  });

  it('after repeated timeouts its breaker opens and lookups stop asking it', async () => {
    dht = new Dht({
      host: '127.0.0.1',
      port: 0,
      ipv6: false,
      bootstrap: false,
      timeoutMs: 200,
      shortTimeoutMs: 100,
    });
    await dht.listen();
    const contact = {
      id: asNodeId(new Uint8Array(20).fill(0x42)),
      address: { host: '127.0.0.1', port: silent?.address().port ?? 0, family: 4 as const },
    };
    const lookupOnce = async (): Promise<number> => {
      const before = received;
      // Referred again, as a stale table elsewhere would (the table evicted it after its failures).
      dht?.table.observe(contact, true, dht.clock.now());
      await dht?.findNode(new Uint8Array(20).fill(0x41)).catch(() => undefined);
      // The lookup ends at the short timeout; the query's own timeout is reported later.
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      return received - before;
    };
    for (let i = 0; i < CONTACT_FAILURES_TO_OPEN; i++)
      assert.ok((await lookupOnce()) >= 1, `lookup ${i} asked it`);
    assert.equal(
      dht.contactBreakers.state('127.0.0.1:' + String(contact.address.port), dht.clock.now()),
      'open',
    );
    assert.equal(await lookupOnce(), 0, 'the open breaker kept the next lookup from asking');
    assert.ok(dht.contactBreakers.skipped >= 1);
    // What the daemon's status and Prometheus page show of it.
    const status = dht.stats().contactBreakers;
    assert.ok(status.opened >= 1 && status.skipped >= 1 && status.tracked >= 1, JSON.stringify(status));
    const stats = new Statistics(dht);
    const text = await metricsText(stats);
    assert.match(text, new RegExp(`^kadmium_contact_breaker_skips_total ${status.skipped}$`, 'm'));
    assert.match(text, /^kadmium_contact_breakers_opened_total [1-9]\d*$/m);
  });
});
