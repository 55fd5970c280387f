import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeDmsgValue,
  decodeSvcValue,
  decodeTpChunk,
  encodeDmsgValue,
  encodeSvcValue,
  encodeTpChunks,
  MAX_TP_CHUNKS,
  TP_CHUNK_BYTES,
} from '../../src/protocols/discovery/dht-values.js';
import { type DiscEntry, signEntry } from '../../src/protocols/discovery/entry.js';
import { newTransportEntry, signTransport } from '../../src/protocols/discovery/transport-entry.js';
import { OverlayIdentity } from '../../src/protocols/overlay/identity.js';
import { SeededRandom } from '../../src/util/random.js';

const ids = OverlayIdentity.simulatedBatch(400, new SeededRandom(3));
const [a, b] = [ids[0]!, ids[1]!];
const entry = (who: OverlayIdentity): DiscEntry =>
  signEntry(
    {
      version: '0.0.1',
      sequence: 1n,
      timestamp: 5n,
      static: who.publicKey,
      client: { delegatedServers: null },
      clientType: '',
      protocol: '',
    },
    who,
  );

describe('discovery values in the overlay', () => {
  it('takes an entry only for its own subject and with a valid signature', () => {
    const value = encodeDmsgValue(entry(a));
    assert.ok(decodeDmsgValue(value, a.publicKey));
    // Someone else's entry stored under a's target (a forged mirror) is not a's entry.
    assert.equal(decodeDmsgValue(encodeDmsgValue(entry(b)), a.publicKey), undefined);
    const tampered = new TextDecoder().decode(value).replace('"sequence":1', '"sequence":2');
    assert.equal(decodeDmsgValue(new TextEncoder().encode(tampered), a.publicKey), undefined);
    assert.equal(decodeDmsgValue(new TextEncoder().encode('{}'), a.publicKey), undefined);
  });

  it('chunks an edge list under the value limit and reads every chunk back, dropping unsigned rows', () => {
    const list = ids.slice(1).map((p) =>
      signTransport(
        {
          entry: newTransportEntry(a.publicKey, p.publicKey, 'stcpr'),
          signatures: [undefined, undefined],
          registered: 0n,
        },
        a,
      ),
    );
    const chunks = encodeTpChunks(a.publicKey, list);
    assert.ok(chunks.length >= 3 && chunks.length <= MAX_TP_CHUNKS);
    let total = 0;
    chunks.forEach((c, i) => {
      assert.ok(c.length <= TP_CHUNK_BYTES + 200, `chunk ${i} is ${c.length} bytes`);
      const read = decodeTpChunk(c, a.publicKey, i);
      assert.ok(read);
      if (i === 0) assert.equal(read.count, chunks.length);
      total += read.transports.length;
    });
    assert.equal(total, list.length);
    // A chunk read as another index, or for another edge, is refused.
    assert.equal(decodeTpChunk(chunks[1]!, a.publicKey, 2), undefined);
    assert.equal(decodeTpChunk(chunks[0]!, ids[5]!.publicKey, 0), undefined);
    // A row without a valid edge signature is dropped.
    const unsigned = { ...list[0]!, signatures: [undefined, undefined] as [undefined, undefined] };
    const one = encodeTpChunks(a.publicKey, [unsigned, list[1]!]);
    assert.equal(decodeTpChunk(one[0]!, a.publicKey, 0)!.transports.length, 1);
  });

  it('takes only the subject’s services from a svc value', () => {
    const mine = {
      publicKey: a.publicKey,
      port: 1,
      type: 'visor',
      displayNodeIp: false,
      version: '',
      localIps: [],
    };
    const theirs = { ...mine, publicKey: b.publicKey };
    assert.equal(decodeSvcValue(encodeSvcValue([mine, theirs]), a.publicKey)!.length, 1);
  });
});
