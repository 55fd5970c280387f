// Issue 14: sibling nodes behind one service (one Redis) issue and accept each other's write
// tokens through a secret per rotation epoch kept in Redis; a node outside the service does not,
// and neither an expired nor another IP's token passes. A real redis-server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Dht } from '../../src/node/dht.js';
import { TOKEN_ROTATE_MS } from '../../src/protocols/mainline/tokens.js';
import { VirtualClock } from '../../src/sim/virtual-clock.js';
import { RedisTokenSecrets } from '../../src/storage/token-secrets.js';
import { MemoryNetwork, type MemoryTransport } from '../../src/transport/memory.js';
import { SeededRandom } from '../../src/util/random.js';
import type { BDict } from '../../src/wire/bencode.js';
import { decodeKrpc, encodeQuery, type KrpcMessage } from '../../src/wire/krpc.js';
import { type RedisServer, startRedisServer } from './redis-server.js';

const id = new Uint8Array(20).fill(0x42);
const infoHash = new Uint8Array(20).fill(0x24);

describe('write tokens shared through Redis', () => {
  let redis: RedisServer | undefined;
  const closers: (() => Promise<void>)[] = [];

  before(async () => {
    redis = await startRedisServer();
  });

  after(async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await redis?.stop();
  });

  it('a token from one sibling is accepted by another; outsiders, expired and other-IP tokens are not', async () => {
    assert.ok(redis);
    const clock = new VirtualClock();
    const net = new MemoryNetwork({ clock, random: new SeededRandom(1), latencyMs: () => 1 });
    const node = async (host: string, seed: number, shared: boolean): Promise<Dht> => {
      const random = new SeededRandom(seed);
      const tokenSecrets = shared
        ? await RedisTokenSecrets.open({
            url: redis!.url,
            namespace: 'kadmium:test-tokens:',
            rotateMs: TOKEN_ROTATE_MS,
            randomBytes: (n) => random.bytes(n),
          })
        : undefined;
      if (tokenSecrets) closers.push(() => tokenSecrets.close());
      const dht = new Dht({
        transport: net.createTransport(host),
        clock,
        random,
        bootstrap: false,
        secureIds: 'off',
        ...(tokenSecrets ? { tokenSecrets } : {}),
      });
      closers.push(() => dht.close());
      await dht.listen();
      return dht;
    };
    const a = await node('2.0.0.1', 1, true);
    const b = await node('2.0.0.2', 2, true);
    const outsider = await node('2.0.0.3', 3, false);

    const client = (host: string): ((to: Dht, method: string, args: BDict) => Promise<KrpcMessage>) => {
      const t: MemoryTransport = net.createTransport(host, 4000);
      const inbox: KrpcMessage[] = [];
      t.onMessage((data) => {
        const m = decodeKrpc(data);
        if (m.ok) inbox.push(m.message);
      });
      let n = 0;
      return async (to, method, args) => {
        const tid = new Uint8Array([0, n++]);
        t.send(encodeQuery(tid, method, args), to.address);
        await clock.advance(5);
        const reply = inbox.find((m) => m.t[1] === tid[1]);
        assert.ok(reply, `no reply to ${method}`);
        return reply;
      };
    };
    const alice = client('3.0.0.1');
    const mallory = client('3.0.0.2');
    const tokenFrom = async (to: Dht): Promise<Uint8Array> => {
      const r = await alice(to, 'get_peers', { id, info_hash: infoHash });
      assert.equal(r.y, 'r');
      return (r as { r: BDict }).r.token as Uint8Array;
    };
    const announce = async (ask: typeof alice, to: Dht, token: Uint8Array, port: number): Promise<string> =>
      (await ask(to, 'announce_peer', { id, info_hash: infoHash, port, token })).y;

    const token = await tokenFrom(a);
    assert.deepEqual(await tokenFrom(b), token, 'siblings issue the same token');
    assert.equal(await announce(alice, b, token, 6001), 'r', "B accepts A's token");
    assert.equal(await announce(alice, outsider, token, 6001), 'e', 'a node outside the service refuses it');
    assert.equal(await announce(mallory, b, token, 6002), 'e', 'another IP cannot use it');

    // One epoch later the token is the previous epoch's: still good. Two later: expired.
    await clock.advance(TOKEN_ROTATE_MS);
    assert.ok((await a.refreshTokenSecrets()) && (await b.refreshTokenSecrets()));
    assert.equal(await announce(alice, b, token, 6003), 'r', 'previous epoch accepted');
    await clock.advance(TOKEN_ROTATE_MS);
    assert.ok((await a.refreshTokenSecrets()) && (await b.refreshTokenSecrets()));
    assert.equal(await announce(alice, b, token, 6004), 'e', 'expired after two epochs');
    assert.equal(await announce(alice, a, token, 6004), 'e');
    const fresh = await tokenFrom(a);
    assert.notDeepEqual(fresh, token);
    assert.equal(await announce(alice, b, fresh, 6004), 'r', "the new epoch's token works across siblings");
  });
});
