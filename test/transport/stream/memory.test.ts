import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../../src/sim/virtual-clock.js';
import { MemoryStreamNetwork } from '../../../src/transport/stream/memory.js';

const key = (n: number): Uint8Array => new Uint8Array(33).fill(n);

describe('in-memory stream network', () => {
  it('closes a connection idle for idleCloseMs on both ends, keeps a busy one, and reconnects', async () => {
    const clock = new VirtualClock();
    const net = new MemoryStreamNetwork({ clock, latencyMs: () => 10, idleCloseMs: 1_000 });
    const a = net.listen(key(1), { host: '10.0.0.1', port: 1, family: 4 });
    const b = net.listen(key(2), { host: '10.0.0.2', port: 1, family: 4 });
    const c = net.listen(key(3), { host: '10.0.0.3', port: 1, family: 4 });
    const closed: string[] = [];
    const idle = await clock.run(a.connect(b.address, key(2)));
    const busy = await clock.run(a.connect(c.address, key(3)));
    idle.onClose((reason) => closed.push(`a->b ${reason}`));
    busy.onClose((reason) => closed.push(`a->c ${reason}`));
    // Traffic on a->c every 300 ms for 3 s; nothing on a->b.
    for (let t = 0; t < 10; t++) {
      busy.send(new Uint8Array([t]));
      await clock.advance(300);
    }
    assert.equal(idle.closed, true);
    assert.equal(busy.closed, false);
    assert.deepEqual(closed, ['a->b idle: nothing sent either way for 1000 ms']);
    assert.equal(b.size, 0, "b's end learnt of the close");
    assert.equal(a.size, 1);
    const again = await clock.run(a.connect(b.address, key(2)));
    assert.notEqual(again, idle);
    assert.equal(again.closed, false);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('keeps idle connections when idleCloseMs is not set', async () => {
    const clock = new VirtualClock();
    const net = new MemoryStreamNetwork({ clock });
    const a = net.listen(key(1), { host: '10.0.0.1', port: 1, family: 4 });
    const b = net.listen(key(2), { host: '10.0.0.2', port: 1, family: 4 });
    const conn = await clock.run(a.connect(b.address, key(2)));
    await clock.advance(10 * 60_000);
    assert.equal(conn.closed, false);
  });

  it('with silentDialMs, a dial to a NATed or departed node fails only after that long', async () => {
    const failAt = async (silentDialMs: number | undefined) => {
      const clock = new VirtualClock();
      const net = new MemoryStreamNetwork({
        clock,
        latencyMs: () => 20,
        ...(silentDialMs ? { silentDialMs } : {}),
      });
      const a = net.listen(key(1), { host: '10.0.0.1', port: 1, family: 4 });
      const natted = net.listen(key(2), { host: '10.0.0.2', port: 1, family: 4 }, { reachable: false });
      const open = net.listen(key(3), { host: '10.0.0.3', port: 1, family: 4 });
      const times: number[] = [];
      for (const [address, k] of [
        [natted.address, key(2)],
        [{ host: '10.0.0.9', port: 1, family: 4 as const }, key(9)],
      ] as const) {
        const started = clock.now();
        await assert.rejects(
          clock.run(a.connect(address, k)),
          /UNREACHABLE|accepts no connections|nothing accepts/,
        );
        times.push(clock.now() - started);
        const probeStarted = clock.now();
        assert.equal(await clock.run(a.probe(address, k)), false);
        times.push(clock.now() - probeStarted);
      }
      // A node that listens still answers in one round trip.
      const started = clock.now();
      await clock.run(a.connect(open.address, key(3)));
      const answered = clock.now() - started;
      await Promise.all([a.close(), natted.close(), open.close()]);
      return { times, answered };
    };
    const refused = await failAt(undefined);
    assert.deepEqual(refused.times, [40, 40, 40, 40]);
    assert.equal(refused.answered, 40);
    const silent = await failAt(5_000);
    assert.deepEqual(silent.times, [5_000, 5_000, 5_000, 5_000]);
    assert.equal(silent.answered, 40);
  });
});
