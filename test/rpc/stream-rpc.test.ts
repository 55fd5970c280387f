import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RemoteRpcError, RpcReplyError, StreamRpc } from '../../src/rpc/stream-rpc.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { MemoryStreamNetwork } from '../../src/transport/stream/memory.js';
import { decodeFrame, encodeFrame } from '../../src/wire/frames.js';

const text = new TextEncoder();
const read = (b: Uint8Array): string => new TextDecoder().decode(b);
const key = (n: number): Uint8Array => new Uint8Array(33).fill(n);

async function pair(options: { maxHandlers?: number; maxHandlersPerConnection?: number } = {}) {
  const clock = new VirtualClock();
  const net = new MemoryStreamNetwork({ clock, latencyMs: () => 5 });
  const a = net.listen(key(1), { host: '10.0.0.1', port: 1, family: 4 });
  const b = net.listen(key(2), { host: '10.0.0.2', port: 1, family: 4 });
  const server = new StreamRpc({ clock, ...options, methodNames: { 1: 'ping', 2: 'echo' } });
  const client = new StreamRpc({ clock, timeoutMs: 1_000, methodNames: { 1: 'ping', 2: 'echo' } });
  b.onConnection((c) => server.attach(c));
  a.onConnection((c) => client.attach(c));
  const conn = await clock.run(a.connect(b.address, key(2)));
  return { clock, a, b, server, client, conn };
}

describe('stream RPC (request ids, busy replies, error replies)', () => {
  it('matches many replies to their requests on one connection, in any order', async () => {
    const { clock, server, client, conn } = await pair();
    server.onRequest(async (_tag, json) => {
      const n = Number(read(json));
      // Later requests answer first: replies come back out of order.
      await new Promise<void>((r) => clock.setTimeout(r, 100 - n));
      return text.encode(String(n * 2));
    });
    const replies = await clock.run(
      Promise.all(Array.from({ length: 50 }, (_, n) => client.request(conn, 2, text.encode(String(n))))),
    );
    assert.deepEqual(
      replies.map((r) => Number(read(r))),
      Array.from({ length: 50 }, (_, n) => n * 2),
    );
    assert.equal(client.stats.out('echo').rx, 50);
  });

  it('answers every request when overloaded: handled, or refused busy with a retry hint', async () => {
    const { clock, server, client, conn } = await pair({ maxHandlers: 10, maxHandlersPerConnection: 10 });
    server.onRequest(async (_tag, json) => {
      await new Promise<void>((r) => clock.setTimeout(r, 50));
      return json;
    });
    const outcomes = await clock.run(
      Promise.all(
        Array.from({ length: 1_000 }, (_, n) =>
          client.request(conn, 1, text.encode(String(n))).then(
            () => 'ok',
            (err: unknown) =>
              err instanceof RemoteRpcError && err.remoteCode === 'BUSY' ? 'busy' : `other ${err}`,
          ),
        ),
      ),
    );
    const ok = outcomes.filter((o) => o === 'ok').length;
    const busy = outcomes.filter((o) => o === 'busy').length;
    assert.equal(ok + busy, 1_000, `lost or failed: ${outcomes.find((o) => o !== 'ok' && o !== 'busy')}`);
    assert.equal(ok, 10);
    assert.equal(server.inFlight, 0);
  });

  it('answers a handler that returns bytes at once, or throws at once, with no promise in between', async () => {
    const { clock, server, client, conn } = await pair();
    server.onRequest((tag, json) => {
      if (tag === 1) return json;
      if (read(json) === 'refuse') throw new RpcReplyError('REJECTED', 'not this one');
      throw new Error('broken handler');
    });
    assert.equal(read(await clock.run(client.request(conn, 1, text.encode('same tick')))), 'same tick');
    await assert.rejects(
      clock.run(client.request(conn, 2, text.encode('refuse'))),
      (err: unknown) => err instanceof RemoteRpcError && err.remoteCode === 'REJECTED',
    );
    await assert.rejects(
      clock.run(client.request(conn, 2, text.encode('other'))),
      (err: unknown) =>
        err instanceof RemoteRpcError && err.remoteCode === 'INTERNAL' && /broken handler/.test(err.message),
    );
    assert.equal(server.inFlight, 0);
    assert.equal(server.stats.in('ping').tx, 1);
    assert.equal(server.stats.in('echo').errors, 2);
  });

  it('turns a handler rejection into an error reply with its code', async () => {
    const { clock, server, client, conn } = await pair();
    server.onRequest(async () => {
      throw new RpcReplyError('REJECTED', 'sequence number must increase');
    });
    await assert.rejects(clock.run(client.request(conn, 2, text.encode('{}'))), (err: unknown) => {
      assert.ok(err instanceof RemoteRpcError);
      assert.equal(err.remoteCode, 'REJECTED');
      assert.match(err.message, /sequence number must increase/);
      return true;
    });
  });

  it('times out on the clock when no reply comes, and fails pending requests when the connection closes', async () => {
    const { clock, server, client, conn } = await pair();
    server.onRequest(() => new Promise(() => {}));
    await assert.rejects(clock.run(client.request(conn, 1, text.encode('{}'))), { code: 'TIMEOUT' });
    const pending = client.request(conn, 1, text.encode('{}'));
    conn.close('test');
    await assert.rejects(pending, { code: 'CLOSED' });
  });

  it('times each request out at its own deadline, whatever the others wait for, and forgets aborted ones', async () => {
    const { clock, server, client, conn } = await pair();
    server.onRequest(() => new Promise(() => {}));
    const start = clock.now();
    const failedAt = (p: Promise<unknown>): Promise<{ code: string; after: number }> =>
      p.then(
        () => ({ code: 'ANSWERED', after: clock.now() - start }),
        (err: { code: string }) => ({ code: err.code, after: clock.now() - start }),
      );
    // A long timeout first, then shorter ones: one timer per connection must still wake for each.
    const long = failedAt(client.request(conn, 1, text.encode('{}'), { timeoutMs: 3_000 }));
    const short = failedAt(client.request(conn, 1, text.encode('{}'), { timeoutMs: 200 }));
    const middle = failedAt(client.request(conn, 1, text.encode('{}'), { timeoutMs: 1_000 }));
    const abort = new AbortController();
    const aborted = failedAt(client.request(conn, 1, text.encode('{}'), { signal: abort.signal }));
    await clock.advance(100);
    abort.abort();
    await clock.advance(3_500);
    assert.deepEqual(await short, { code: 'TIMEOUT', after: 200 });
    assert.deepEqual(await middle, { code: 'TIMEOUT', after: 1_000 });
    assert.deepEqual(await long, { code: 'TIMEOUT', after: 3_000 });
    assert.deepEqual(await aborted, { code: 'ABORTED', after: 100 });
    assert.equal(client.stats.out('ping').timeouts, 3);
    assert.equal(client.stats.out('ping').tx, 4);
    // Nothing is left waiting: a new request still gets its own full timeout.
    const later = failedAt(client.request(conn, 1, text.encode('{}')));
    await clock.advance(1_500);
    assert.deepEqual(await later, { code: 'TIMEOUT', after: 3_600 + 1_000 });
  });

  it('closes a connection that sends a body too short for a frame header', async () => {
    const { clock, conn } = await pair();
    conn.send(new Uint8Array([1, 2]));
    await clock.advance(50);
    // The server closed its end; the close reached ours a link delay later.
    assert.equal(conn.closed, true);
  });

  it('counts replies nobody waits for, and keeps the connection open for late ones', async () => {
    const { clock, server, b, conn } = await pair();
    server.onRequest(async (_tag, json) => json);
    // A response and an error reply for ids this side never sent (a peer's bug, or a late reply).
    conn.send(encodeFrame('response', 1, 77, text.encode('{}')));
    conn.send(encodeFrame('error', 0, 78, text.encode('{"error":"x","code":"BUSY"}')));
    await clock.advance(50);
    assert.equal(server.stats.dropped.unsolicited, 2);
    assert.equal(conn.closed, false);
    assert.equal(b.size, 1);
  });

  it('encodes and decodes frame headers, and rejects headerless bodies', () => {
    const f = decodeFrame(encodeFrame('response', 4, 0xfffffffe, text.encode('{"stored":true}')));
    assert.deepEqual(
      { ...f, json: read(f?.json as Uint8Array) },
      {
        kind: 'response',
        tag: 4,
        requestId: 0xfffffffe,
        json: '{"stored":true}',
      },
    );
    assert.equal(decodeFrame(new Uint8Array(4)), undefined);
    assert.equal(decodeFrame(new Uint8Array([0x80, 0, 0, 0, 1])), undefined);
    assert.equal(decodeFrame(encodeFrame('error', 3, 7, text.encode('{}')))?.kind, 'error');
  });
});
