import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { itemTarget, signItem, tombstone } from '../../src/protocols/overlay/item.js';
import { OverlayStore, packItem, unpackItem } from '../../src/protocols/overlay/store.js';
import { MemoryItemBackend } from '../../src/storage/item-store.js';
import { openBackends } from '../../src/storage/open.js';
import { toHex } from '../../src/util/bytes.js';
import { SeededRandom } from '../../src/util/random.js';

const random = new SeededRandom(42);
const id = (): OverlayIdentity => OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0, random });
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const HOUR = 3_600_000;

describe('overlay store policy', () => {
  it('accepts only increasing seqs, honours compare-and-swap, and keeps tombstones', async () => {
    const store = new OverlayStore(new MemoryItemBackend());
    const alice = id();
    assert.ok((await store.put(signItem(alice, text('a'), 5n), 0)).ok);
    const same = await store.put(signItem(alice, text('b'), 5n), 0);
    assert.equal(same.ok, false);
    assert.equal(!same.ok && same.code, 'SEQ_NOT_INCREASING');
    assert.equal(!same.ok && same.currentSeq, 5n);
    const cas = await store.put(signItem(alice, text('c'), 7n), 0, { cas: 4n });
    assert.equal(!cas.ok && cas.code, 'CAS_MISMATCH');
    assert.ok((await store.put(signItem(alice, text('c'), 7n), 0, { cas: 5n })).ok);
    assert.ok((await store.put(tombstone(alice, 8n), 0)).ok);
    // The old value cannot come back under the tombstone.
    assert.equal((await store.put(signItem(alice, text('c'), 7n), 0)).ok, false);
    assert.equal((await store.get(itemTarget(alice.publicKey), 0))?.v.length, 0);
  });

  it('refuses forged, oversized and mismatched items without touching what is stored', async () => {
    const store = new OverlayStore(new MemoryItemBackend(), { limits: { maxValueBytes: 16 } });
    const alice = id();
    assert.ok((await store.put(signItem(alice, text('kept'), 1n), 0)).ok);
    const forged = { ...signItem(alice, text('evil'), 2n), v: text('EVIL') };
    assert.equal((await store.put(forged, 0)).ok, false);
    assert.equal((await store.put(signItem(alice, new Uint8Array(17), 3n), 0)).ok, false);
    // A signature by someone else over alice's key: fails verification.
    const mallory = id();
    const stolen = { ...signItem(mallory, text('x'), 9n), k: alice.publicKey };
    assert.equal((await store.put(stolen, 0)).ok, false);
    assert.equal(new TextDecoder().decode((await store.get(itemTarget(alice.publicKey), 0))?.v), 'kept');
  });

  it('caps each public signer, evicts the oldest public item, never the trusted ones', async () => {
    const trusted = id();
    const store = new OverlayStore(new MemoryItemBackend(), {
      perSignerQuota: 3,
      publicPoolSize: 5,
      maxItems: 8,
      trusted: new Set([toHex(trusted.publicKey)]),
    });
    const spammer = id();
    for (let i = 0; i < 3; i++)
      assert.ok((await store.put(signItem(spammer, text('x'), 1n, text(`s${i}`)), i)).ok);
    const fourth = await store.put(signItem(spammer, text('x'), 1n, text('s3')), 3);
    assert.equal(!fourth.ok && fourth.code, 'QUOTA');
    // An update of a held target is not a new item: exempt from the quota.
    assert.ok((await store.put(signItem(spammer, text('y'), 2n, text('s0')), 4)).ok);
    for (let i = 0; i < 4; i++)
      assert.ok((await store.put(signItem(trusted, text('t'), 1n, text(`t${i}`)), 5)).ok);
    const others = [id(), id(), id()];
    for (const [i, o] of others.entries())
      assert.ok((await store.put(signItem(o, text('o'), 1n), 10 + i)).ok);
    assert.equal(store.counts().trusted, 4);
    assert.equal(store.counts().public, 4, 'public items beyond the cap evicted');
    assert.ok(store.size <= 8);
    // The oldest public item (spammer s1, put at time 1) went first.
    assert.equal(await store.get(itemTarget(spammer.publicKey, text('s1')), 20), undefined);
    // Trusted items never expire; public ones do.
    assert.ok(await store.get(itemTarget(trusted.publicKey, text('t0')), 10 * HOUR));
    assert.equal(await store.get(itemTarget(others[2]!.publicKey), 10 * HOUR), undefined);
  });

  it('accepts mirror puts only from trusted signers, and regular nodes only what they are close to', async () => {
    const operator = id();
    const store = new OverlayStore(new MemoryItemBackend(), {
      trusted: new Set([toHex(operator.publicKey)]),
    });
    const subject = itemTarget(id().publicKey, text('dmsg'));
    const stranger = id();
    const refused = await store.put(signItem(stranger, text('m'), 1n, text('dmsg')), 0, {
      mirrorTarget: subject,
    });
    assert.equal(!refused.ok && refused.code, 'MIRROR_NOT_ALLOWED');
    assert.ok(
      (await store.put(signItem(operator, text('m'), 1n, text('dmsg')), 0, { mirrorTarget: subject })).ok,
    );
    assert.ok(await store.get(subject, 0));
    const far = await store.put(signItem(stranger, text('n'), 1n), 0, { responsible: () => false });
    assert.equal(!far.ok && far.code, 'NOT_RESPONSIBLE');
    const full = new OverlayStore(new MemoryItemBackend(), { fullNode: true });
    assert.ok((await full.put(signItem(stranger, text('n'), 1n), 0, { responsible: () => false })).ok);
  });

  it('pages GetItems by seq without splitting a run of equal seqs', async () => {
    const store = new OverlayStore(new MemoryItemBackend(), { perSignerQuota: 100 });
    const alice = id();
    const seqs = [1n, 2n, 2n, 2n, 3n, 4n];
    for (const [i, seq] of seqs.entries()) await store.put(signItem(alice, text('v'), seq, text(`p${i}`)), 0);
    const page = await store.getItems(undefined, 0n, 2, 0);
    assert.deepEqual(
      page.items.map((e) => e.item.seq),
      [1n, 2n, 2n, 2n],
    );
    assert.equal(page.hasMore, true);
    const rest = await store.getItems(undefined, 2n, 10, 0);
    assert.deepEqual(
      rest.items.map((e) => e.item.seq),
      [3n, 4n],
    );
    assert.equal(rest.hasMore, false);
    assert.equal((await store.getItems(text('p5'), 0n, 10, 0)).items.length, 1);
  });

  it('packs items losslessly and refuses truncated records', () => {
    const item = signItem(id(), text('value'), (1n << 63n) + 5n, text('salt'));
    assert.deepEqual(unpackItem(packItem(item)), item);
    assert.equal(unpackItem(packItem(item).subarray(0, 50)), undefined);
  });

  const dir = mkdtempSync(join(tmpdir(), 'kadmium-overlay-store-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps items, seqs and quotas across a reopen of the SQLite file', async () => {
    const path = join(dir, 'overlay.sqlite');
    const alice = id();
    const first = await openBackends({ kind: 'sqlite', path });
    const store = new OverlayStore(first.items, { perSignerQuota: 2 });
    await store.open(0);
    assert.ok((await store.put(signItem(alice, text('one'), 1n << 60n, text('a')), 0)).ok);
    assert.ok((await store.put(signItem(alice, text('two'), 3n, text('b')), 0)).ok);
    await first.close();
    const second = await openBackends({ kind: 'sqlite', path });
    const again = new OverlayStore(second.items, { perSignerQuota: 2 });
    assert.equal(await again.open(1), 2);
    assert.equal((await again.get(itemTarget(alice.publicKey, text('a')), 1))?.seq, 1n << 60n);
    const quota = await again.put(signItem(alice, text('three'), 1n, text('c')), 1);
    assert.equal(!quota.ok && quota.code, 'QUOTA');
    const stale = await again.put(signItem(alice, text('old'), 2n, text('b')), 1);
    assert.equal(!stale.ok && stale.code, 'SEQ_NOT_INCREASING');
    await second.close();
  });
});
