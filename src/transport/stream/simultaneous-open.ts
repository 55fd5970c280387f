/**
 * TCP simultaneous open through a relay both peers reach (RFC 793 §3.4, RFC 5382 REQ-2). Each
 * side opens a connection to the relay from a port bound with SO_REUSEADDR (Node's libuv sets it
 * on every explicit bind), the relay tells each the other's endpoint as it saw it, and both then
 * connect() to that endpoint from the same local port. Behind NATs with endpoint-independent
 * mapping (full cone, address- and port-restricted) the endpoint the relay saw is the one the
 * peer's SYN arrives from, so the two SYNs cross: the first is dropped by the other side's NAT
 * (nothing there expects it), the second finds the first's mapping open and gets through, and
 * both kernels complete the handshake. A symmetric NAT maps the peer connection to a new port,
 * the SYNs never match, and the attempt times out (the pool then splices through the relay).
 *
 * The socket this returns carries no secure channel yet: the side that asked runs the initiator
 * handshake expecting the peer's key, the other the responder, exactly as over a direct dial.
 */
import { type Socket, connect as netConnect } from 'node:net';
import type { Address } from '../address.js';
import type { Clock } from '../../util/clock.js';
import { KadmiumError } from '../../util/errors.js';
import {
  decodeEndpoint,
  endpointLength,
  opening,
  PUNCH_ANSWER_OPENING,
  PUNCH_OPENING,
} from './rendezvous-wire.js';

/**
 * A whole simultaneous open, from dialling the relay to the peer's SYN-ACK. Covers one lost SYN
 * (Linux retransmits the first after 1 s), which is what the crossing SYNs cost at worst.
 */
export const SIMULTANEOUS_OPEN_TIMEOUT_MS = 2_500;
/**
 * A side behind NAT dials this long after the relay's word; a side with a public address dials at
 * once. An unNATed host answers a SYN that arrives before its own connect() with a reset, so its
 * SYN must be out first; a NAT drops an unsolicited SYN silently (RFC 5382 REQ-4), so the NATed
 * side's early SYN only ever costs a retransmission.
 */
export const NATTED_DIAL_DELAY_MS = 100;

export class SimultaneousOpenError extends KadmiumError {
  constructor(reason: string) {
    super('SIMULTANEOUS_OPEN_FAILED', `TCP simultaneous open failed: ${reason}; the relay's splice remains`);
  }
}

/** Ask the relay for a simultaneous open with the listener registered under `publicKey`. */
export function punchViaRelay(
  relay: Address,
  publicKey: Uint8Array,
  clock: Clock,
  timeoutMs = SIMULTANEOUS_OPEN_TIMEOUT_MS,
): Promise<Socket> {
  return simultaneousOpen(relay, opening(PUNCH_OPENING, publicKey), clock, timeoutMs);
}

/** The listener's side: answer the relay's MSG_PUNCH for circuit `id`. */
export function answerPunch(
  relay: Address,
  id: Uint8Array,
  clock: Clock,
  timeoutMs = SIMULTANEOUS_OPEN_TIMEOUT_MS,
): Promise<Socket> {
  return simultaneousOpen(relay, opening(PUNCH_ANSWER_OPENING, id), clock, timeoutMs);
}

function simultaneousOpen(
  relay: Address,
  first: Uint8Array,
  clock: Clock,
  timeoutMs: number,
): Promise<Socket> {
  const wildcard = relay.family === 6 ? '::' : '0.0.0.0';
  return new Promise<Socket>((resolve, reject) => {
    let settled = false;
    let peerSocket: Socket | undefined;
    // An explicit bind (to port 0) sets SO_REUSEADDR, so the peer socket may share the port.
    // allowHalfOpen: the relay ends first, and our side must keep the port until the peer dial binds it.
    const toRelay = netConnect({
      host: relay.host,
      port: relay.port,
      localAddress: wildcard,
      noDelay: true,
      allowHalfOpen: true,
    });
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      toRelay.destroy();
      peerSocket?.destroy();
      reject(new SimultaneousOpenError(reason));
    };
    const timer = clock.setTimeout(() => fail(`no connection within ${timeoutMs} ms`), timeoutMs);
    let pending = Buffer.alloc(0);
    const dialPeer = (peer: Address): void => {
      const localPort = toRelay.localPort;
      if (localPort === undefined) return fail('the relay connection has no local port');
      if (settled) return;
      const socket = netConnect({ host: peer.host, port: peer.port, localAddress: wildcard, localPort });
      peerSocket = socket;
      socket.once('connect', () => {
        if (settled) return void socket.destroy();
        settled = true;
        timer.cancel();
        socket.off('error', onPeerError);
        socket.setNoDelay(true);
        toRelay.destroy();
        resolve(socket);
      });
      const onPeerError = (err: Error): void =>
        fail(`connecting to ${peer.host}:${peer.port}: ${err.message}`);
      socket.once('error', onPeerError);
    };
    toRelay.once('connect', () => toRelay.write(first));
    let told = false;
    toRelay.on('data', (chunk: Buffer) => {
      if (told) return;
      pending = Buffer.concat([pending, chunk]);
      const peerLength = endpointLength(pending);
      if (peerLength === undefined) return fail('the relay sent no endpoint');
      const selfLength = pending.length > peerLength ? endpointLength(pending, peerLength) : 0;
      if (selfLength === undefined) return fail('the relay sent a malformed endpoint');
      if (selfLength === 0 || pending.length < peerLength + selfLength) return;
      const peer = decodeEndpoint(pending);
      const self = decodeEndpoint(pending, peerLength);
      if (!peer || !self) return fail('the relay sent a malformed endpoint');
      told = true;
      const natted =
        self.port !== toRelay.localPort || self.host !== toRelay.localAddress?.replace(/^::ffff:/, '');
      if (!natted) return dialPeer(peer);
      clock.setTimeout(() => {
        if (!settled) dialPeer(peer);
      }, NATTED_DIAL_DELAY_MS);
    });
    toRelay.on('end', () => {
      if (!told) fail('the relay closed without an endpoint (the peer is not registered there)');
    });
    toRelay.on('error', (err) => {
      if (!told) fail(`the relay connection: ${err.message}`);
    });
    toRelay.on('close', () => {
      if (!told) fail('the relay closed without an endpoint (the peer is not registered there)');
    });
  });
}
