/**
 * Two nodes sharing one Redis dataset, racing for one target (issue 15, item 7). Every version
 * check (BEP 44's seq and CAS, the overlay's seq inside the value, the breaker resync's
 * `supersedes`) must hold at the moment of the write, whatever the interleaving.
 *
 * The interleavings are forced, not hoped for: node A's Redis connection goes through a gate
 * that holds back the reply of a GET of the target (Redis has already answered it) until the
 * test has let node B write. Whatever A then writes was decided on a record that is no longer
 * there, which is exactly the window a load-then-store leaves open.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { keypairFromSeed, mutableTarget, signMutable } from '../../src/protocols/mainline/bep44.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { itemTarget, signItem } from '../../src/protocols/overlay/item.js';
import { OverlayStore, overlayRecordSupersedes, unpackItem } from '../../src/protocols/overlay/store.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import {
  BREAKER_PROBE_MS,
  type BreakerChange,
  BreakerItemBackend,
  type Supersedes,
} from '../../src/storage/breaker.js';
import { ItemStore } from '../../src/storage/item-store.js';
import { connectRedis } from '../../src/storage/redis-connect.js';
import { RedisItemBackend, RedisStorage } from '../../src/storage/redis.js';
import { toHex } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';
import { encode } from '../../src/wire/bencode.js';
import { type RedisServer, startRedisServer, until } from './redis-server.js';

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
/** Races per interleaving: each one is a fresh chance for a regression. */
const ROUNDS = 12;
const RESYNC_LIMIT_MS = 20_000;

/** What the test does to node A's connection. */
interface Gate {
  /** Every command fails, as when Redis is unreachable. */
  down: boolean;
  /** Runs after Redis answered a GET of `key`, before node A sees the answer. */
  afterGet?: ((key: string) => Promise<void>) | undefined;
  /** Every command node A sent, by method name. */
  sent: string[];
}

/** A Redis connection whose GET replies the test can hold back, and which the test can cut. */
function gated(redis: Redis, gate: Gate): Redis {
  return new Proxy(redis, {
    get(target, name) {
      const value: unknown = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      const fn = (value as (...args: unknown[]) => unknown).bind(target);
      if (name === 'quit' || name === 'disconnect') return fn;
      return (...args: unknown[]) => {
        if (gate.down) return Promise.reject(new Error('connection cut by the test'));
        gate.sent.push(String(name));
        const reply = fn(...args);
        const hook = gate.afterGet;
        if (name !== 'getBuffer' || !hook) return reply;
        return (reply as Promise<unknown>).then(async (answer) => {
          await hook(String(args[0]));
          return answer;
        });
      };
    },
  });
}

describe('conditional stores on a shared Redis dataset', () => {
  let server: RedisServer;
  let n = 0;
  const closers: (() => Promise<unknown>)[] = [];

  before(async () => {
    server = await startRedisServer();
  });
  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await server?.stop();
  });

  /** Node A's item backend, behind a gate, and node B's plain one, on one namespace. */
  async function pair(): Promise<{ a: RedisItemBackend; b: RedisItemBackend; gate: Gate; ns: string }> {
    const ns = `kadmium:race-${process.pid}-${++n}:`;
    const gate: Gate = { down: false, sent: [] };
    const redis = await connectRedis({ url: server.url });
    const a = new RedisItemBackend(gated(redis, gate), ns, 60_000, async () => {
      await redis.quit();
    });
    const storage = await RedisStorage.open({ url: server.url, namespace: ns });
    closers.push(
      () => a.close(),
      () => storage.close(),
    );
    return { a, b: storage.items, gate, ns };
  }

  /**
   * Node A's backend behind a breaker, on a clock the test advances. Puts use that clock too: the
   * resync writes back what is live on it.
   */
  function behindBreaker(
    a: RedisItemBackend,
    supersedes?: Supersedes,
  ): { breakerA: BreakerItemBackend; clock: VirtualClock; changes: BreakerChange[] } {
    const clock = new VirtualClock(Date.now());
    const changes: BreakerChange[] = [];
    const breakerA = new BreakerItemBackend(a, clock, (c) => changes.push(c), supersedes);
    closers.push(() => breakerA.close());
    return { breakerA, clock, changes };
  }

  /** Let the breaker probe Redis and wait until its resync has closed it. */
  async function resynced(clock: VirtualClock, changes: BreakerChange[]): Promise<void> {
    await clock.advance(BREAKER_PROBE_MS);
    assert.ok(
      await until(() => changes.some((c) => c.state === 'closed'), RESYNC_LIMIT_MS),
      `A did not resync: ${JSON.stringify(changes)}`,
    );
  }

  /** Hold A's next GET of `target` until `meanwhile` (node B's write) has run. */
  function interleave(gate: Gate, ns: string, target: Uint8Array, meanwhile: () => Promise<void>): void {
    const key = `${ns}item:${toHex(target)}`;
    gate.afterGet = async (got) => {
      if (got !== key) return;
      gate.afterGet = undefined;
      await meanwhile();
    };
  }

  it('BEP 44: racing puts of seq n and n+1 always end with n+1; a stale CAS fails', async () => {
    const { a, b, gate, ns } = await pair();
    const storeA = new ItemStore(a);
    const storeB = new ItemStore(b);
    const keys = keypairFromSeed(new Uint8Array(32).fill(15));
    const target = mutableTarget(keys.publicKey);
    const put = (store: ItemStore, seq: number, cas?: number) =>
      store.put(
        { ...signMutable(keys, seq, text(`seq ${seq}`)), ...(cas === undefined ? {} : { cas }) },
        1_000,
      );
    const regressions: string[] = [];
    const lowerOutcomes = new Set<string | number>();
    let seq = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // 1. A's lower seq waits between its load and its store while B stores the higher one.
      interleave(gate, ns, target, async () => void (await put(storeB, seq + 2)));
      const lower = await put(storeA, seq + 1);
      seq += 2;
      if ((await b.load(target))?.seq !== seq) regressions.push(`round ${round} lower-paused`);
      lowerOutcomes.add(lower.ok ? 'stored' : lower.code);
      // 2. A's higher seq waits while B stores the lower one; A must still land, on top.
      interleave(gate, ns, target, async () => void (await put(storeB, seq + 1)));
      const higher = await put(storeA, seq + 2);
      seq += 2;
      assert.ok(higher.ok, `the higher seq lands: ${higher.ok ? '' : higher.message}`);
      if ((await b.load(target))?.seq !== seq) regressions.push(`round ${round} higher-paused`);
      // 3. No gate: both at once.
      const both = await Promise.all([put(storeA, seq + 1), put(storeB, seq + 2)]);
      seq += 2;
      assert.ok(both[1].ok);
      if ((await b.load(target))?.seq !== seq) regressions.push(`round ${round} concurrent`);
    }
    assert.deepEqual(regressions, [], 'the record never went back to a lower seq');
    assert.deepEqual([...lowerOutcomes], [302], 'the lower seq is refused: seq too low');

    // Compare-and-swap: A and B both believe `seq` is stored; B's swap lands in A's window.
    interleave(gate, ns, target, async () => assert.ok((await put(storeB, seq + 1, seq)).ok));
    const stale = await put(storeA, seq + 1, seq);
    assert.equal(stale.ok ? 'stored' : stale.code, 301, 'A swapped against a seq no longer stored');
    assert.deepEqual((await b.load(target))?.v, encode(text(`seq ${seq + 1}`)));
  });

  it('overlay: the seq inside the value never goes back, and a stale CAS fails', async () => {
    const { a, b, gate, ns } = await pair();
    const storeA = new OverlayStore(a, { fullNode: true });
    const storeB = new OverlayStore(b, { fullNode: true });
    const alice = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random: new SeededRandom(15) });
    const target = itemTarget(alice.publicKey, text('dmsg'));
    const put = (store: OverlayStore, seq: bigint, cas?: bigint) =>
      store.put(signItem(alice, text(`seq ${seq}`), seq, text('dmsg')), Date.now(), { cas });
    const seqInRedis = async (): Promise<bigint | undefined> => {
      const record = await b.load(target);
      return record ? unpackItem(record.v)?.seq : undefined;
    };
    const regressions: string[] = [];
    const lowerOutcomes = new Set<string>();
    let seq = 0n;
    for (let round = 0; round < ROUNDS; round++) {
      interleave(gate, ns, target, async () => void (await put(storeB, seq + 2n)));
      const lower = await put(storeA, seq + 1n);
      seq += 2n;
      lowerOutcomes.add(lower.ok ? 'stored' : lower.code);
      if ((await seqInRedis()) !== seq) regressions.push(`round ${round} lower-paused`);
      interleave(gate, ns, target, async () => void (await put(storeB, seq + 1n)));
      assert.ok((await put(storeA, seq + 2n)).ok, 'the higher seq lands');
      seq += 2n;
      if ((await seqInRedis()) !== seq) regressions.push(`round ${round} higher-paused`);
    }
    assert.deepEqual(regressions, [], 'the record never went back to a lower seq');
    assert.deepEqual([...lowerOutcomes], ['SEQ_NOT_INCREASING']);
    interleave(gate, ns, target, async () => assert.ok((await put(storeB, seq + 1n, seq)).ok));
    const stale = await put(storeA, seq + 5n, seq);
    assert.equal(stale.ok ? 'stored' : stale.code, 'CAS_MISMATCH');
    assert.equal(await seqInRedis(), seq + 1n);
  });

  /**
   * A's breaker holds seq 2 from an outage; when Redis answers again, its resync loads seq 1
   * from Redis and, in the window before its write, B stores seq 3. Redis must end with seq 3.
   */
  it("the breaker's resync write-back racing a sibling's newer put keeps the newer (BEP 44 seq)", async () => {
    const { a, b, gate, ns } = await pair();
    const { breakerA, clock, changes } = behindBreaker(a);
    const storeA = new ItemStore(breakerA);
    const storeB = new ItemStore(b);
    const keys = keypairFromSeed(new Uint8Array(32).fill(16));
    const target = mutableTarget(keys.publicKey);
    const put = (store: ItemStore, seq: number) =>
      store.put(signMutable(keys, seq, text(`seq ${seq}`)), clock.now());
    assert.ok((await put(storeA, 1)).ok);
    gate.down = true;
    assert.ok((await put(storeA, 2)).ok, 'A takes seq 2 in memory');
    assert.equal(changes[0]?.state, 'open', JSON.stringify(changes));
    gate.down = false;
    interleave(gate, ns, target, async () => assert.ok((await put(storeB, 3)).ok));
    await resynced(clock, changes);
    assert.equal(gate.afterGet, undefined, 'the resync met the forced interleaving');
    assert.equal((await b.load(target))?.seq, 3, changes.at(-1)?.detail);
    assert.match(changes.at(-1)?.detail ?? '', /kept 1 newer item/);
  });

  it("the overlay breaker's resync keeps a sibling's newer put (overlayRecordSupersedes)", async () => {
    const { a, b, gate, ns } = await pair();
    const { breakerA, clock, changes } = behindBreaker(a, overlayRecordSupersedes);
    const storeA = new OverlayStore(breakerA, { fullNode: true });
    const storeB = new OverlayStore(b, { fullNode: true });
    const alice = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random: new SeededRandom(16) });
    const target = itemTarget(alice.publicKey);
    const put = (store: OverlayStore, seq: bigint) =>
      store.put(signItem(alice, text(`seq ${seq}`), seq), clock.now());
    assert.ok((await put(storeA, 1n)).ok);
    gate.down = true;
    assert.ok((await put(storeA, 2n)).ok, 'A takes seq 2 in memory');
    gate.down = false;
    interleave(gate, ns, target, async () => assert.ok((await put(storeB, 3n)).ok));
    await resynced(clock, changes);
    assert.equal(gate.afterGet, undefined, 'the resync met the forced interleaving');
    const record = await b.load(target);
    assert.equal(record ? unpackItem(record.v)?.seq : undefined, 3n, changes.at(-1)?.detail);
    assert.match(changes.at(-1)?.detail ?? '', /kept 1 newer item/);
  });

  it('Redis dropping between the load and the store: the put is served from memory and resynced', async () => {
    const { a, b, gate, ns } = await pair();
    const { breakerA, clock, changes } = behindBreaker(a);
    const storeA = new ItemStore(breakerA);
    const keys = keypairFromSeed(new Uint8Array(32).fill(17));
    const target = mutableTarget(keys.publicKey);
    interleave(gate, ns, target, async () => {
      gate.down = true;
    });
    const put = await storeA.put(signMutable(keys, 4, text('during the drop')), clock.now());
    assert.ok(put.ok, 'the put returns at once, from memory');
    assert.equal(changes[0]?.state, 'open', JSON.stringify(changes));
    assert.equal((await storeA.get(target, clock.now()))?.seq, 4, 'served from memory meanwhile');
    gate.down = false;
    await resynced(clock, changes);
    assert.equal((await b.load(target))?.seq, 4, 'the resync wrote it to Redis');
  });

  it('a put costs 2 Redis round trips, 3 when it adds an item (below the cap)', async () => {
    const { a, gate } = await pair();
    const store = new ItemStore(a);
    const keys = keypairFromSeed(new Uint8Array(32).fill(18));
    const put = (seq: number, salt: string) =>
      store.put(signMutable(keys, seq, text(`seq ${seq}`), text(salt)), 1_000);
    assert.ok((await put(1, 'first')).ok, 'the first put also counts the store, once');
    gate.sent.length = 0;
    assert.ok((await put(1, 'second')).ok);
    assert.deepEqual(gate.sent, ['getBuffer', 'getBuffer', 'evalsha'], 'a new item: decide, room, decide');
    gate.sent.length = 0;
    assert.ok((await put(2, 'second')).ok);
    assert.deepEqual(gate.sent, ['getBuffer', 'evalsha'], 'a replaced item');
  });

  it('a put that keeps losing its race gives up with a clear error instead of retrying forever', async () => {
    const { a, b, gate, ns } = await pair();
    const storeA = new ItemStore(a);
    const v = encode(text('contended'));
    const first = await new ItemStore(b).put({ v }, 1_000);
    assert.ok(first.ok, 'B stored the item');
    const held = first.item;
    const key = `${ns}item:${toHex(held.target)}`;
    // After every GET A makes, B rewrites the record (a later storedAt: other bytes).
    let loads = 0;
    gate.afterGet = async (got) => {
      if (got !== key) return;
      loads++;
      await b.store({ ...held, storedAt: held.storedAt + loads });
    };
    const put = await storeA.put({ v }, 2_000);
    gate.afterGet = undefined;
    assert.equal(put.ok ? 'stored' : put.code, 202);
    assert.match(put.ok ? '' : put.message, /changed \d+ times .* put it again/);
    assert.ok(loads >= 2 && loads <= 16, `${loads} attempts: bounded`);
  });
});
