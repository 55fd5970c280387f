/**
 * Overlay commands for a test-bed agent (agent.ts): one overlay node per agent process, on TCP,
 * bootstrapped by "PUBKEY@addr[,addr]" so a dual-stack peer can be named by both families.
 */
import {
  formatOverlayBootstrap,
  listenOverlay,
  overlayRelay,
  overlayTransportStats,
  parseOverlayBootstrap,
} from '../../src/node/overlay-tcp.js';
import type { OverlayNode } from '../../src/node/overlay-node.js';
import { OverlayIdentity, verifyDigest } from '../../src/protocols/overlay/identity.js';
import { itemTarget } from '../../src/protocols/overlay/item.js';
import { type Address, makeAddress } from '../../src/transport/address.js';

let overlay: OverlayNode | undefined;

function hostPort(text: string): Address {
  const at = text.lastIndexOf(':');
  return makeAddress(text.slice(0, at).replace(/^\[|\]$/g, ''), Number(text.slice(at + 1)));
}
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function node(): OverlayNode {
  if (!overlay) throw new Error('overlay-start first');
  return overlay;
}

export async function runOverlay(c: { op: string; [key: string]: unknown }): Promise<unknown> {
  switch (c.op) {
    case 'overlay-start': {
      overlay = await listenOverlay({
        identity: OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 }),
        host: String(c.host ?? '::'),
        port: Number(c.port ?? 0),
        bootstrap: ((c.bootstrap as string[] | undefined) ?? []).map(parseOverlayBootstrap),
        ...(c.offerRelay ? { offerRelay: { port: Number(c.offerRelay) } } : {}),
        ...(c.relays ? { relays: (c.relays as string[]).map(hostPort) } : {}),
      });
      // Warm the signature code first (noble builds its tables on the first use, ~100 ms): the
      // times below are the network's and the protocol's, not a cold process's.
      const identity = OverlayIdentity.generate({ staticBits: 0, dynamicBits: 0 });
      verifyDigest(identity.publicKey, new Uint8Array(32), identity.signDigest(new Uint8Array(32)));
      const t0 = performance.now();
      // The first peer that answers enters the table: connect, handshake and one ping.
      let firstAnswerMs: number | undefined;
      overlay.events.on('overlay:added', () => (firstAnswerMs ??= Math.round(performance.now() - t0)));
      const joined = (c.bootstrap as string[] | undefined)?.length
        ? await overlay.start({ timeoutMs: 5_000 })
        : { ok: true };
      return {
        ok: joined.ok,
        joinMs: Math.round(performance.now() - t0),
        firstAnswerMs,
        stats: overlayTransportStats(overlay),
        self: formatOverlayBootstrap(overlay).split('@')[0],
        relay: overlayRelay(overlay),
      };
    }
    case 'overlay-put': {
      const r = await node().put(enc(String(c.value)), { salt: enc('bed'), timeoutMs: 5_000 });
      return { stored: r.stored, asked: r.asked };
    }
    case 'overlay-get': {
      const got = await node().get(Buffer.from(String(c.publicKey), 'hex'), {
        salt: enc('bed'),
        timeoutMs: 5_000,
      });
      return { value: got ? new TextDecoder().decode(got.item.v) : null };
    }
    case 'overlay-get-from': {
      // One GetValue straight to `peer` over the pool's connection: what that node stores.
      const signer = Buffer.from(String(c.publicKey), 'hex');
      const item = await node().getValueFrom(
        parseOverlayBootstrap(String(c.peer)),
        itemTarget(signer, enc('bed')),
        {
          timeoutMs: 5_000,
        },
      );
      return { value: item ? new TextDecoder().decode(item.v) : null };
    }
    case 'overlay-self':
      return { self: formatOverlayBootstrap(node()).split('@')[0] };
    case 'overlay-stop': {
      await overlay?.close();
      overlay = undefined;
      return { ok: true };
    }
    case 'overlay-stats':
      return { ...overlayTransportStats(node()), relay: overlayRelay(node())?.stats };
    default:
      throw new Error(`unknown op ${c.op}`);
  }
}
