/**
 * Overlay statistics count what the node's events report (lookups, gets, puts, lies, busy
 * replies), keep a bounded list of recent lookups, and render them as Prometheus families.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OverlayNode } from '../../src/node/overlay-node.js';
import { listenOverlay } from '../../src/node/overlay-tcp.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { OverlayStatistics, overlayMetrics } from '../../src/services/overlay-stats.js';
import { render } from '../../src/services/prometheus.js';
import { makeAddress } from '../../src/transport/address.js';

describe('overlay statistics', () => {
  let node: OverlayNode;

  before(async () => {
    node = await listenOverlay({ identity: OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }) });
  });

  after(async () => {
    await node?.close();
  });

  it('counts lies, busy replies, lookups and gets from the events, and renders them', () => {
    const stats = new OverlayStatistics(node, 3);
    const from = makeAddress('127.0.0.1', 7900);
    for (let i = 0; i < 2; i++) node.events.emit('overlay:lie', { from, reason: `forged ${i}` });
    for (let i = 0; i < 5; i++) node.events.emit('rpc:busy', { remote: new Uint8Array(33), inFlight: 64 });
    for (let i = 0; i < 7; i++)
      node.events.emit('overlay:lookup', {
        kind: i % 2 === 0 ? 'get_value' : 'find_node',
        target: new Uint8Array(32).fill(i),
        durationMs: 10 + i,
        queried: 5,
        responded: 4,
        hops: 2,
      });
    node.events.emit('overlay:get', {
      target: new Uint8Array(32),
      found: true,
      sources: 3,
      lies: 0,
      queried: 5,
      durationMs: 400,
      firstMs: 120,
    });
    node.events.emit('overlay:get', {
      target: new Uint8Array(32),
      found: false,
      sources: 0,
      lies: 0,
      queried: 5,
      durationMs: 900,
    });

    const s = stats.snapshot();
    assert.equal(s.lies, 2);
    assert.equal(s.busy, 5);
    assert.deepEqual(s.lookups, { get_value: 4, find_node: 3 });
    assert.deepEqual(s.gets, { found: 1, missing: 1 });
    assert.equal(s.getSeconds.count, 2, 'both gets timed');
    assert.equal(s.getSeconds.sum, 1.3);
    assert.equal(s.firstItemSeconds.count, 1, 'only the get that found an item has a first item');
    assert.equal(s.firstItemSeconds.sum, 0.12);
    assert.equal(s.recentLookups.length, 3, 'bounded by keepLookups');
    assert.equal(s.recentLookups[0]?.durationMs, 16, 'newest first');
    assert.equal(s.recentLies[0]?.reason, 'forged 1');
    assert.equal(s.recentLies[0]?.from, '127.0.0.1:7900');

    const text = render(overlayMetrics(stats));
    assert.match(text, /^kadmium_overlay_lies_total 2$/m);
    assert.match(text, /^kadmium_overlay_busy_replies_total 5$/m);
    assert.match(text, /^kadmium_overlay_lookups_total\{kind="get_value"\} 4$/m);
    assert.match(text, /^kadmium_overlay_gets_total\{outcome="missing"\} 1$/m);
    assert.match(text, /^kadmium_overlay_get_duration_seconds_count 2$/m);
    assert.match(text, /^kadmium_overlay_get_first_item_seconds_count 1$/m);
    assert.match(text, /^kadmium_overlay_get_first_item_seconds_bucket\{le="\+Inf"\} 1$/m);
    assert.match(text, /^kadmium_overlay_stored_items\{tier="public"\} 0$/m);
    assert.match(text, /^kadmium_overlay_contacts 0$/m);

    stats.close();
    node.events.emit('overlay:lie', { from, reason: 'after close' });
    assert.equal(stats.snapshot().lies, 2, 'close() unsubscribes');
  });

  it('keeps no lookup history when asked to keep none (private profile)', () => {
    const stats = new OverlayStatistics(node, 0);
    node.events.emit('overlay:lookup', {
      kind: 'find_node',
      target: new Uint8Array(32),
      durationMs: 1,
      queried: 1,
      responded: 1,
      hops: 1,
    });
    assert.equal(stats.snapshot().lookups.find_node, 1);
    assert.deepEqual(stats.recentLookups(), []);
    stats.close();
  });
});
