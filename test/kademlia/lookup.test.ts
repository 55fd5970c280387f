import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { asNodeId, compareDistance } from '../../src/kademlia/id.js';
import { lookup } from '../../src/kademlia/lookup.js';
import { type Contact, RoutingTable } from '../../src/kademlia/routing-table.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { sleep } from '../../src/util/clock.js';
import { SeededRandom } from '../../src/util/random.js';

/** A synthetic network: every node has a routing table of its neighbours; no sockets involved. */
function network(size: number, seed: number, idLength = 20) {
  const random = new SeededRandom(seed);
  const contacts: Contact[] = [];
  for (let i = 0; i < size; i++) {
    contacts.push({
      id: asNodeId(random.bytes(idLength)),
      address: { host: `8.${i >> 8}.${i & 255}.1`, port: 1, family: 4 },
    });
  }
  const byId = new Map<string, RoutingTable>();
  const tables = { get: (c: Contact) => byId.get(Buffer.from(c.id).toString('hex')) };
  for (const c of contacts) {
    const t = new RoutingTable(c.id, { k: 8 });
    // Every node has heard of every other (in its own random order): tables as full as Kademlia allows.
    const order = [...contacts].sort(() => random.float() - 0.5);
    for (const other of order) t.observe(other, true, 0);
    byId.set(Buffer.from(c.id).toString('hex'), t);
  }
  return { contacts, tables, random };
}

describe('iterative lookup', () => {
  for (const idLength of [20, 32]) {
    it(`converges on the true K closest nodes (${idLength * 8}-bit ids)`, async () => {
      const { contacts, tables, random } = network(400, 5 + idLength, idLength);
      for (let trial = 0; trial < 10; trial++) {
        const target = random.bytes(idLength);
        const seeds = [contacts[trial] as Contact];
        const result = await lookup({
          target,
          seeds,
          k: 8,
          alpha: 3,
          query: async (c) => ({ nodes: (tables.get(c) as RoutingTable).closest(target, 8), result: c.id }),
        });
        const truth = [...contacts].sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8);
        assert.deepEqual(
          result.closest.map((c) => c.contact.id),
          truth.map((c) => c.id),
        );
        assert.ok(result.hops >= 1 && result.queried >= 8);
      }
    });
  }

  it('never runs more than alpha queries at once, and a slow query frees its slot', async () => {
    const { contacts, tables, random } = network(200, 11);
    const target = random.bytes(20);
    let active = 0;
    let peak = 0;
    let slowSeen = 0;
    const result = await lookup({
      target,
      seeds: contacts.slice(0, 10),
      k: 8,
      alpha: 3,
      query: async (c, onSlow) => {
        active++;
        peak = Math.max(peak, active);
        // Every fifth contact is slow: it signals onSlow (freeing the slot) and answers late.
        if (c.id[0]! % 5 === 0) {
          slowSeen++;
          active--;
          onSlow();
          await new Promise((r) => setTimeout(r, 5));
          return { nodes: (tables.get(c) as RoutingTable).closest(target, 8), result: null };
        }
        await new Promise((r) => setImmediate(r));
        active--;
        return { nodes: (tables.get(c) as RoutingTable).closest(target, 8), result: null };
      },
    });
    assert.ok(peak <= 3, `peak parallelism ${peak}`);
    assert.ok(slowSeen > 0);
    assert.equal(result.closest.length, 8);
  });

  it('with convergedWidth, asks the rest of the K at once after the alpha nearest answered', async () => {
    const { contacts, tables, random } = network(600, 13);
    // Every query takes 100 ms of virtual time, so the lookup's duration counts its rounds.
    const run = async (target: Uint8Array, convergedWidth: number | undefined) => {
      const clock = new VirtualClock();
      let active = 0;
      let peak = 0;
      const result = await clock.run(
        lookup({
          target,
          seeds: contacts.slice(0, 20),
          k: 20,
          alpha: 3,
          ...(convergedWidth !== undefined ? { convergedWidth } : {}),
          query: async (c) => {
            peak = Math.max(peak, ++active);
            await sleep(clock, 100);
            active--;
            return { nodes: (tables.get(c) as RoutingTable).closest(target, 20), result: null };
          },
        }),
      );
      return { result, peak, ms: clock.now() };
    };
    let faster = 0;
    for (let trial = 0; trial < 5; trial++) {
      const target = random.bytes(20);
      const plain = await run(target, undefined);
      const wide = await run(target, 20);
      assert.ok(plain.peak <= 3, `plain peak ${plain.peak}`);
      assert.ok(wide.peak > 3 && wide.peak <= 20, `wide peak ${wide.peak}`);
      // Same answer, found sooner.
      assert.deepEqual(
        wide.result.closest.map((c) => c.contact.id),
        plain.result.closest.map((c) => c.contact.id),
      );
      assert.ok(wide.ms <= plain.ms, `wide ${wide.ms} ms, plain ${plain.ms} ms`);
      if (wide.ms < plain.ms / 2) faster++;
    }
    assert.ok(faster >= 3, `the wide lookup took less than half the time in ${faster} of 5 trials`);
  });

  it('uses a late reply and survives failures', async () => {
    const { contacts, tables, random } = network(200, 12);
    const target = random.bytes(20);
    let failures = 0;
    let reported = 0;
    const result = await lookup({
      onFailure: () => reported++,
      target,
      seeds: contacts.slice(0, 8),
      k: 8,
      alpha: 3,
      query: async (c) => {
        if (c.id[1]! % 3 === 0) {
          failures++;
          throw new Error('timeout');
        }
        return { nodes: (tables.get(c) as RoutingTable).closest(target, 8), result: null };
      },
    });
    assert.ok(failures > 0);
    assert.equal(result.failed, reported);
    assert.ok(
      result.closest.every((c) => c.contact.id[1]! % 3 !== 0),
      'failed nodes are never in the result',
    );
  });

  it('counts as unanswered the queries past their short timeout, not late answers nor refusals', async () => {
    const { contacts, tables, random } = network(200, 14);
    const target = random.bytes(20);
    let silent = 0;
    let late = 0;
    let refused = 0;
    let lateInTime = 0;
    const result = await lookup({
      target,
      seeds: contacts.slice(0, 8),
      k: 8,
      alpha: 3,
      // Told only of replies before the lookup ended: a late one after that still counts.
      onReply: (c) => {
        if (c.id[1]! % 5 === 2) lateInTime++;
      },
      query: async (c, onSlow) => {
        const kind = c.id[1]! % 5;
        if (kind === 0) {
          // Gone: passes the short timeout, then its full timeout ends after the lookup.
          silent++;
          onSlow();
          return new Promise<never>(() => undefined);
        }
        if (kind === 1) {
          refused++;
          throw new Error('refused before sending');
        }
        if (kind === 2) {
          late++;
          onSlow();
          await Promise.resolve();
        }
        return { nodes: (tables.get(c) as RoutingTable).closest(target, 8), result: null };
      },
    });
    assert.ok(silent > 0 && lateInTime > 0 && refused > 0, `${silent} ${lateInTime} ${refused}`);
    assert.equal(
      result.unanswered,
      silent + late - lateInTime,
      `the silent ones and the late ones that answered after the end, not refusals: ${result.unanswered}`,
    );
    assert.equal(result.failed, refused);
  });

  it('rejects when aborted', async () => {
    const { contacts, tables } = network(50, 13);
    const controller = new AbortController();
    const pending = lookup({
      target: new Uint8Array(20),
      seeds: contacts.slice(0, 3),
      k: 8,
      alpha: 3,
      signal: controller.signal,
      query: async (c) => {
        await new Promise((r) => setTimeout(r, 20));
        return { nodes: (tables.get(c) as RoutingTable).closest(new Uint8Array(20), 8), result: null };
      },
    });
    controller.abort();
    await assert.rejects(pending, { code: 'ABORTED' });
  });
});
