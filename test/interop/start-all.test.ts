// startAll: when one client fails to start, the ones that did start are stopped. Before it, a
// failed `before` in kadmium-mixed left two bittorrent-dht sockets open and the file never exited.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startAll } from './common.js';

class FakePeer {
  stopped = 0;
  constructor(readonly name: string) {}
  stop(): Promise<void> {
    this.stopped++;
    return Promise.resolve();
  }
}

describe('startAll', () => {
  it('returns every client, in order, when all start', async () => {
    const a = new FakePeer('a');
    const b = new FakePeer('b');
    const got = await startAll([Promise.resolve(a), Promise.resolve(b)]);
    assert.deepEqual(got, [a, b]);
    assert.equal(a.stopped + b.stopped, 0);
  });

  it('stops the clients that started when one fails, then rethrows its error', async () => {
    const a = new FakePeer('a');
    const c = new FakePeer('c');
    const boom = new Error('python3-libtorrent is missing');
    await assert.rejects(
      startAll([Promise.resolve(a), Promise.reject(boom), Promise.resolve(c)]),
      (err) => err === boom,
    );
    assert.equal(a.stopped, 1);
    assert.equal(c.stopped, 1);
  });

  it('names how many failed when several do', async () => {
    const a = new FakePeer('a');
    await assert.rejects(
      startAll([Promise.reject(new Error('x')), Promise.resolve(a), Promise.reject(new Error('y'))]),
      /2 of 3 clients failed to start/,
    );
    assert.equal(a.stopped, 1);
  });
});
