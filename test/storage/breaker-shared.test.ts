import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { itemTarget, signItem } from '../../src/protocols/overlay/item.js';
import {
  OverlayStore,
  overlayRecordSupersedes,
  packItem,
  unpackItem,
} from '../../src/protocols/overlay/store.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import {
  BREAKER_PROBE_MS,
  type BreakerChange,
  type Supersedes,
  supersedesBySeq,
} from '../../src/storage/breaker.js';
import type { StoredItem } from '../../src/storage/item-store.js';
import { type Backends, openBackends } from '../../src/storage/open.js';
import { RedisStorage } from '../../src/storage/redis.js';
import { SeededRandom } from '../../src/util/random.js';
import { type RedisServer, startRedisServer, until } from './redis-server.js';

const random = new SeededRandom(7);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const RESYNC_LIMIT_MS = 20_000;

const record = (seq: number | undefined, expiresAt: number): StoredItem => ({
  target: new Uint8Array(20),
  v: new Uint8Array(1),
  ...(seq === undefined ? {} : { seq }),
  storedAt: 0,
  expiresAt,
});

describe('which version a storage resync keeps', () => {
  it('BEP 44 records: the higher seq, then the later expiry', () => {
    assert.equal(supersedesBySeq(record(5, 1), record(4, 9)), true);
    assert.equal(supersedesBySeq(record(4, 9), record(5, 1)), false);
    assert.equal(supersedesBySeq(record(5, 9), record(5, 1)), true);
    assert.equal(supersedesBySeq(record(undefined, 1), record(undefined, 2)), false);
  });

  it('overlay records: the seq inside the packed item wins over the expiry', () => {
    const alice = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
    const pack = (seq: bigint, expiresAt: number): StoredItem => ({
      target: itemTarget(alice.publicKey),
      v: packItem(signItem(alice, text(`v${seq}`), seq)),
      storedAt: 0,
      expiresAt,
    });
    const older = pack(2n, 9_000);
    const newer = pack(3n, 1_000);
    assert.equal(overlayRecordSupersedes(older, newer), false, 'a later expiry does not beat a higher seq');
    assert.equal(overlayRecordSupersedes(newer, older), true);
    assert.equal(
      overlayRecordSupersedes({ ...newer, v: new Uint8Array(3) }, older),
      false,
      'garbage never wins',
    );
  });
});

/**
 * Two overlay full nodes on one Redis. A is cut off and takes seq 2 in memory; Redis comes back
 * empty and B stores seq 3 there; then A's breaker resyncs. Before resyncs compared versions, A
 * wrote its whole mirror back and seq 2 replaced seq 3 (the `alwaysMine` run shows that still
 * happens without the rule, so the check can fail).
 */
describe('storage breaker resync with two full nodes on one real Redis', () => {
  let server: RedisServer | undefined;
  const opened: Backends[] = [];
  after(async () => {
    for (const b of opened) await b.close().catch(() => undefined);
    await server?.stop();
  });

  const alwaysMine: Supersedes = () => true;
  for (const [name, supersedes, expected] of [
    ['with the overlay seq rule', overlayRecordSupersedes, 3n],
    ['without it (the old resync)', alwaysMine, 2n],
  ] as const) {
    it(`${name}: Redis ends with seq ${expected}`, async () => {
      server = await startRedisServer();
      const { port, url } = server;
      const namespace = `kadmium:shared-${expected}:`;
      const alice = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
      const target = itemTarget(alice.publicKey, text('dmsg'));
      const put = (store: OverlayStore, seq: bigint) =>
        store.put(signItem(alice, text(`seq ${seq}`), seq, text('dmsg')), Date.now());

      // A's breaker runs on a clock the test advances, so its resync comes after B's write.
      const clock = new VirtualClock(Date.now());
      const changes: BreakerChange[] = [];
      const a = await openBackends({
        kind: 'redis',
        url,
        namespace,
        clock,
        supersedes,
        onBreaker: (c) => changes.push(c),
      });
      opened.push(a);
      const storeA = new OverlayStore(a.items, { fullNode: true });
      assert.ok((await put(storeA, 1n)).ok);

      await server.stop();
      assert.ok((await put(storeA, 2n)).ok, 'A takes seq 2 in memory while Redis is down');
      assert.equal(changes[0]?.state, 'open', JSON.stringify(changes));

      server = await startRedisServer({ port });
      const b = await openBackends({ kind: 'redis', url, namespace, supersedes: overlayRecordSupersedes });
      opened.push(b);
      const storeB = new OverlayStore(b.items, { fullNode: true });
      assert.ok((await put(storeB, 3n)).ok, 'B stores seq 3 in the restarted Redis');

      await clock.advance(BREAKER_PROBE_MS);
      const closed = await until(() => changes.some((c) => c.state === 'closed'), RESYNC_LIMIT_MS);
      assert.ok(closed, `A did not resync: ${JSON.stringify(changes)}`);

      const reader = await RedisStorage.open({ url, namespace });
      const inRedis = await reader.items.load(target);
      await reader.close();
      assert.ok(inRedis, 'the item is in Redis');
      assert.equal(unpackItem(inRedis.v)?.seq, expected, changes.at(-1)?.detail);
      if (expected === 3n) assert.match(changes.at(-1)?.detail ?? '', /kept 1 newer item/);
      for (const backends of opened.splice(0)) await backends.close();
      await server.stop();
      server = undefined;
    });
  }
});
