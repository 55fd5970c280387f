/**
 * Codec: encode + decode round trips per second for typical Mainline messages, kadmium's bencode
 * against the `bencode` npm package (v4), measured side by side in alternating rounds.
 *
 * kadmium is measured twice. The ratio is for the way its node sends every datagram: encoded into
 * a shared slab (wire/krpc.ts), then decoded. The second column is `encode` with no slab, which
 * returns an exact-size copy the caller owns; over 64 bytes V8 gives that copy an off-heap
 * ArrayBuffer of its own, and that allocation costs as much as the encoding. `bencode` has no
 * cheaper mode for sending (its `buffer` argument copies after allocating), and bittorrent-dht
 * calls the plain `encode`.
 */
import bencodeNpm from 'bencode';
import { Slab } from '../src/util/slab.js';
import { type BDict, decode, encode } from '../src/wire/bencode.js';
import { num, ratio, table } from './format.js';

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 17) & 0xff;
  return out;
}

const txt = (s: string) => new TextEncoder().encode(s);
const id = bytes(20, 1);
const t = bytes(2, 2);
const v = txt('KD01');

function peers(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => bytes(6, i + 10));
}

export const MESSAGES: { name: string; value: BDict }[] = [
  { name: 'ping query', value: { a: { id }, q: txt('ping'), t, v, y: txt('q') } },
  {
    name: 'find_node reply (8 nodes)',
    value: { ip: bytes(6, 3), r: { id, nodes: bytes(26 * 8, 4) }, t, v, y: txt('r') },
  },
  {
    name: 'get_peers reply (8 values)',
    value: { ip: bytes(6, 3), r: { id, token: bytes(8, 5), values: peers(8) }, t, v, y: txt('r') },
  },
  {
    name: 'get_peers reply (50 values)',
    value: { ip: bytes(6, 3), r: { id, token: bytes(8, 5), values: peers(50) }, t, v, y: txt('r') },
  },
];

type Codec = (value: BDict) => number;

const slab = new Slab();

const kadmiumSend: Codec = (value) => {
  const out = decode(encode(value, slab));
  return out.ok ? 1 : 0;
};

const kadmiumOwned: Codec = (value) => {
  const out = decode(encode(value));
  return out.ok ? 1 : 0;
};

const npm: Codec = (value) => {
  const out = bencodeNpm.decode(bencodeNpm.encode(value));
  return out ? 1 : 0;
};

/** Round trips per second over ~durationMs. */
function measure(codec: Codec, value: BDict, durationMs: number): number {
  let n = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  while (now - start < durationMs) {
    for (let i = 0; i < 1000; i++) sink += codec(value);
    n += 1000;
    now = performance.now();
  }
  if (sink !== n) throw new Error('a codec failed to round-trip');
  return (n * 1000) / (now - start);
}

export interface CodecRow {
  message: string;
  /** Encoded into a slab, as the node sends. */
  kadmium: number;
  /** Encoded into an exact-size copy of its own. */
  kadmiumOwned: number;
  bencode: number;
}

export function runCodec(roundMs = 300, rounds = 3): { rows: CodecRow[]; text: string } {
  const rows: CodecRow[] = [];
  for (const { name, value } of MESSAGES) {
    // The two must agree byte for byte, or the comparison is meaningless.
    const a = Buffer.from(encode(value)).toString('hex');
    const b = Buffer.from(bencodeNpm.encode(value)).toString('hex');
    if (a !== b) throw new Error(`encodings of ${name} differ`);
    const codecs = [kadmiumSend, kadmiumOwned, npm];
    for (const codec of codecs) measure(codec, value, 100);
    const best = codecs.map(() => 0);
    for (let r = 0; r < rounds; r++) {
      codecs.forEach((codec, i) => {
        best[i] = Math.max(best[i] as number, measure(codec, value, roundMs));
      });
    }
    const [send, owned, bencode] = best as [number, number, number];
    rows.push({ message: name, kadmium: send, kadmiumOwned: owned, bencode });
  }
  const text = table([
    [
      'message (encode + decode)',
      'kadmium msgs/s',
      'bencode@4 msgs/s',
      'ratio',
      'kadmium, owned copy',
      'ratio',
    ],
    ...rows.map((r) => [
      r.message,
      num(r.kadmium),
      num(r.bencode),
      ratio(r.kadmium, r.bencode),
      num(r.kadmiumOwned),
      ratio(r.kadmiumOwned, r.bencode),
    ]),
  ]);
  return { rows, text };
}
