import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { OverlayIdentity, verifyDigest, verifyPayload } from '../../src/protocols/overlay/identity.js';
import { itemTarget, signItem, signPayload, verifyItem } from '../../src/protocols/overlay/item.js';
import { fromHex, toHex } from '../../src/util/bytes.js';
import { sha256 } from '../../src/util/sha256.js';

/**
 * Test vectors for Skywire's MutableItem: fixed secret keys, the payload, target and signature we
 * compute, checked against the stored values and then by an independent secp256k1 ECDSA (Python's
 * `cryptography`, OpenSSL underneath; installed by scripts/deps/python-cryptography.sh), which
 * also rebuilds payload, target and id from scratch. Signatures are RFC 6979, so they are fixed.
 */
const hex = (h: string): Uint8Array => {
  const out = fromHex(h);
  assert.ok(out, `bad hex in test: ${h}`);
  return out;
};

interface Vector {
  sk: string;
  pk: string;
  id: string;
  seq: bigint;
  v: string;
  salt: string;
  payload: string;
  target: string;
  sig: string;
}

const VECTORS: Vector[] = [
  {
    // Secret key 1: the public key is the generator G.
    sk: '0000000000000000000000000000000000000000000000000000000000000001',
    pk: '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    id: '0f715baf5d4c2ed329785cef29e562f73488c8a2bb9dbc5700b361d54b9b0554',
    seq: 1n,
    v: toHex(Buffer.from('hello')),
    salt: '',
    payload: '00000000000000010000000568656c6c6f00000000',
    target: '0f715baf5d4c2ed329785cef29e562f73488c8a2bb9dbc5700b361d54b9b0554',
    sig:
      'b458c5b5a23e3c7cc49985dab04cb6507fd6ae4c0bbc184a68327a4aa3c73b44' +
      '4d230fcfc2c8aedded8c91ebd3a0b70ec46f57fb1c244fe81381f78eb0bcd198' +
      '01',
  },
  {
    // A UnixNano seq beyond 2^53, as Skywire's publishers write, and a salt.
    sk: 'c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721',
    pk: '032c8c31fc9f990c6b55e3865a184a4ce50e09481f2eaeb3e60ec1cea13a6ae645',
    id: 'de2ba7ebcd8058e1be240286f4a263b48283ffdea2a992c538d1a278e9675dfa',
    seq: 1745000000123456789n,
    v: toHex(Buffer.from('{"dmsg":"entry"}')),
    salt: toHex(Buffer.from('dmsg')),
    payload: '18377c41346a4d15000000107b22646d7367223a22656e747279227d00000004646d7367',
    target: '6859ba0616b1cf541e8d61eaae6adf95306bf1212014725a000a3b424e082e7f',
    sig:
      '1c85c549da7b0dc81d3a3e99f516b343adab3e4e8cf31a47c677126628eb994e' +
      '47eaa0dfeadd3ec36390ff52e8f2bde04bf1d66289f78c557db3a02728079148' +
      '00',
  },
  {
    // Secret key n-1 (public key -G), the largest seq, an empty value (a tombstone), a 200-byte salt.
    sk: 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140',
    pk: '0379be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
    id: 'fbd27dbb9e7f471bf3de3704a35e884e37d35c676dc2cc8c3cc574c3962376d2',
    seq: 18446744073709551615n,
    v: '',
    salt: 'ab'.repeat(200),
    payload: `ffffffffffffffff00000000000000c8${'ab'.repeat(200)}`,
    target: 'a1e028bcef6c8147a8483d599494fc69779030e0dd8359cb009d229e9bae8143',
    sig:
      '9485ad1bdc8aa27a7e4ec9179af3041f48ee23a29e4f6382c7bc5af39413e3cb' +
      '564755ffe4dd2c6471cef5a1e8a83a44234cb322917c094d9d8455424fb29b22' +
      '00',
  },
];

/** Independent checks in Python. Reads the vectors on stdin, prints one JSON object per vector. */
const PYTHON = String.raw`
import hashlib, json, struct, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature, decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.exceptions import InvalidSignature

N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141
out = []
for v in json.load(sys.stdin):
    sk = ec.derive_private_key(int(v["sk"], 16), ec.SECP256K1())
    pub = sk.public_key()
    pk = pub.public_bytes(Encoding.X962, PublicFormat.CompressedPoint)
    value, salt = bytes.fromhex(v["v"]), bytes.fromhex(v["salt"])
    payload = struct.pack(">QI", int(v["seq"]), len(value)) + value + struct.pack(">I", len(salt)) + salt
    sig = bytes.fromhex(v["sig"])
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big")
    try:
        pub.verify(encode_dss_signature(r, s), payload, ec.ECDSA(hashes.SHA256()))
        sig_ok = True
    except InvalidSignature:
        sig_ok = False
    # A fresh signature of Python's own (random nonce) for kadmium to verify.
    pr, ps = decode_dss_signature(sk.sign(payload, ec.ECDSA(hashes.SHA256())))
    out.append({
        "pk": pk.hex(),
        "id": hashlib.sha256(pk).hexdigest(),
        "payload": payload.hex(),
        "target": hashlib.sha256(pk + salt).hexdigest(),
        "sigOk": sig_ok,
        "lowS": 0 < s <= N // 2,
        "pythonSig": pr.to_bytes(32, "big").hex() + ps.to_bytes(32, "big").hex(),
    })
print(json.dumps(out))
`;

interface PythonResult {
  pk: string;
  id: string;
  payload: string;
  target: string;
  sigOk: boolean;
  lowS: boolean;
  pythonSig: string;
}

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

let pythonResults: PythonResult[] | undefined;

/** Runs the Python checks once for the file (two tests read the results). */
function runPython(): PythonResult[] {
  if (pythonResults) return pythonResults;
  const input = JSON.stringify(VECTORS.map((v) => ({ ...v, seq: v.seq.toString() })));
  const run = spawnSync('/usr/bin/python3', ['-c', PYTHON], { input, encoding: 'utf8', timeout: 30_000 });
  assert.equal(
    run.status,
    0,
    `python3-cryptography failed (install it with scripts/deps/python-cryptography.sh): ${run.stderr}`,
  );
  pythonResults = JSON.parse(run.stdout) as PythonResult[];
  return pythonResults;
}

/** r || s || recid with s replaced by n - s (the high-S twin; recid's parity flips with it). */
function highSTwin(sig: Uint8Array): Uint8Array {
  const s = BigInt(`0x${toHex(sig.subarray(32, 64))}`);
  const out = sig.slice();
  out.set(hex((N - s).toString(16).padStart(64, '0')), 32);
  out[64] = (sig[64] as number) ^ 1;
  return out;
}

describe('overlay item test vectors', () => {
  it('reproduces the stored public key, id, payload, target and signature for each fixed key', () => {
    for (const v of VECTORS) {
      const identity = OverlayIdentity.fromSecretKey(hex(v.sk), { dynamicBits: 0 });
      assert.equal(toHex(identity.publicKey), v.pk);
      assert.equal(toHex(identity.id), v.id);
      assert.equal(toHex(signPayload(v.seq, hex(v.v), hex(v.salt))), v.payload);
      assert.equal(toHex(itemTarget(identity.publicKey, hex(v.salt))), v.target);
      const item = signItem(identity, hex(v.v), v.seq, hex(v.salt));
      assert.equal(toHex(item.sig), v.sig);
      assert.deepEqual(verifyItem(item, undefined, hex(v.target)), { ok: true });
    }
  });

  it('an independent ECDSA (Python cryptography) agrees on keys, payload, target and signatures', () => {
    const results = runPython();
    assert.equal(results.length, VECTORS.length);
    VECTORS.forEach((v, i) => {
      const py = results[i] as PythonResult;
      assert.equal(py.pk, v.pk, `vector ${i}: public key`);
      assert.equal(py.id, v.id, `vector ${i}: id`);
      assert.equal(py.payload, v.payload, `vector ${i}: payload`);
      assert.equal(py.target, v.target, `vector ${i}: target`);
      assert.equal(py.sigOk, true, `vector ${i}: Python rejects our signature`);
      assert.equal(py.lowS, true, `vector ${i}: our signature is not low-S`);
    });
  });

  it("verifies Python's signatures with exactly one recovery id, and rejects their high-S twins", () => {
    const results = runPython();
    VECTORS.forEach((v, i) => {
      const rs = hex((results[i] as PythonResult).pythonSig);
      const s = BigInt(`0x${toHex(rs.subarray(32))}`);
      // OpenSSL does not normalise S; bring it low the way a Skycoin signer does.
      if (s > N / 2n) rs.set(hex((N - s).toString(16).padStart(64, '0')), 32);
      const accepted = [0, 1, 2, 3].filter((recid) => {
        const sig = new Uint8Array(65);
        sig.set(rs, 0);
        sig[64] = recid;
        return verifyPayload(hex(v.pk), hex(v.payload), sig);
      });
      assert.equal(accepted.length, 1, `vector ${i}: recovery ids that verify: ${accepted.join(',')}`);
      const good = new Uint8Array(65);
      good.set(rs, 0);
      good[64] = accepted[0] as number;
      assert.equal(verifyPayload(hex(v.pk), hex(v.payload), highSTwin(good)), false, `vector ${i}: high S`);
    });
  });

  it('rejects the stored signatures with a wrong recid, a recid >= 4, the high-S twin or another payload', () => {
    for (const v of VECTORS) {
      const pk = hex(v.pk);
      const digest = sha256(hex(v.payload));
      const sig = hex(v.sig);
      assert.equal(verifyDigest(pk, digest, sig), true);
      const wrongRecid = sig.slice();
      wrongRecid[64] = (sig[64] as number) ^ 1;
      assert.equal(verifyDigest(pk, digest, wrongRecid), false, 'wrong recovery id');
      for (const recid of [2, 3, 4, 27, 255]) {
        const bad = sig.slice();
        bad[64] = recid;
        assert.equal(verifyDigest(pk, digest, bad), false, `recid ${recid}`);
      }
      // The twin (n - s, recid ^ 1) is a valid ECDSA signature by the same key; only low-S refuses it.
      const twin = highSTwin(sig);
      assert.equal(secp256k1.verify(twin.subarray(0, 64), digest, pk, { prehash: false, lowS: false }), true);
      assert.equal(verifyDigest(pk, digest, twin), false, 'high S');
      const otherDigest = digest.slice();
      otherDigest[0] = (otherDigest[0] as number) ^ 1;
      assert.equal(verifyDigest(pk, otherDigest, sig), false, 'another payload');
    }
  });
});
