/**
 * The secure channel's handshake over any Duplex: signed ephemeral Diffie-Hellman over the
 * transcript (SIGMA family, as in TLS 1.3's CertificateVerify), with S/Kademlia's puzzle checked
 * before any data flows. See docs/OVERLAY.md, "Secure channel", for the construction and why.
 *
 *   I -> R  HELLO   nonce_I, eph_I
 *   R -> I  REPLY   nonce_R, eph_R, static_R, puzzle_R, sig_R(transcript)     I checks key, sig, puzzle
 *   I -> R  PROOF   static_I, puzzle_I, sig_I(transcript)                      R checks sig, puzzle
 *   R -> I  FINISHED (first encrypted record)                                  I knows R accepted
 *
 * A probe (HELLO flag FLAG_PROBE) stops after REPLY: the responder proved its key, and both hang up.
 *
 * Either side may answer with REFUSE and a reason instead. The promise never rejects with anything
 * but a HandshakeError, and no exception from hostile input escapes into the stream's callbacks.
 */
import type { Duplex } from 'node:stream';
import type { Address } from '../address.js';
import { type Clock, systemClock } from '../../util/clock.js';
import { type Random, systemRandom } from '../../util/random.js';
import { bytesEqual, toHex } from '../../util/bytes.js';
import { InvalidArgumentError } from '../../util/errors.js';
import { SecureConnection } from './connection.js';
import { HandshakeError, messageOf } from './errors.js';
import {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_SEND_QUEUE_BYTES,
  FrameReader,
  FrameWriter,
  MAX_FRAME_BYTES_LIMIT,
  encodeFrame,
} from './framing.js';
import {
  EPHEMERAL_KEY_BYTES,
  FLAG_PROBE,
  MAX_HANDSHAKE_MESSAGE_BYTES,
  NONCE_BYTES,
  PROBE_ANSWERED,
  PUZZLE_BYTES,
  STATIC_KEY_BYTES,
  decodeHello,
  decodeProof,
  decodeRefuse,
  decodeReply,
  deriveSessionKeys,
  encodeHello,
  encodeRefuse,
  ephemeralFromSecret,
  initiatorDigest,
  proofSignedPart,
  replySignedPart,
  responderDigest,
  type EphemeralKey,
  type Hello,
} from './handshake-messages.js';
import { RECORD_OVERHEAD_BYTES, RecordKind, RecordOpener, RecordSealer } from './record.js';
import type { AdmitPeer, ChannelIdentity, VerifyDigest } from './types.js';

/** Default time for a whole handshake, from the first byte sent or received to FINISHED. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
const UNKNOWN_ADDRESS: Address = { host: '0.0.0.0', port: 0, family: 4 };

export interface ChannelOptions {
  identity: ChannelIdentity;
  verify: VerifyDigest;
  /** Puzzle and ban-list check of the peer; undefined admits everyone with a valid signature. */
  admit?: AdmitPeer;
  clock?: Clock;
  random?: Random;
  handshakeTimeoutMs?: number;
  /** Largest body either side may send; default 1 MiB, at most 4 MiB. */
  maxFrameBytes?: number;
  sendQueueBytes?: number;
  /** Close after this long without a record either way; 0 or undefined = never. */
  idleCloseMs?: number;
  /** The peer's address as the transport knows it. */
  remoteAddress?: Address;
}

export interface InitiatorOptions extends ChannelOptions {
  /** The key we dialled: the responder must prove exactly this one. */
  expectedPublicKey: Uint8Array;
  /** HELLO flags (FLAG_REPLACE). */
  flags?: number;
}

export interface ResponderOptions extends ChannelOptions {
  /**
   * Last word before the responder accepts a proven, admitted peer (the pool's duplicate rule).
   * A string refuses with that reason. Runs synchronously, just before FINISHED is sent.
   */
  beforeAccept?: (publicKey: Uint8Array, helloFlags: number) => string | undefined;
}

/** Run the initiator's side; resolves with the connection once the responder has accepted. */
export async function secureInitiator(duplex: Duplex, options: InitiatorOptions): Promise<SecureConnection> {
  if (((options.flags ?? 0) & FLAG_PROBE) !== 0)
    throw new InvalidArgumentError('FLAG_PROBE opens no connection: use secureProbe');
  return (await new Handshake(duplex, options, true).run()) as SecureConnection;
}

/**
 * A reachability probe: resolves once the responder has signed our fresh nonce with
 * `expectedPublicKey` (and passed `admit`), then ends the stream. The responder learns nothing
 * about us and pools nothing; it pays one signature, as for any HELLO.
 */
export async function secureProbe(duplex: Duplex, options: Omit<InitiatorOptions, 'flags'>): Promise<void> {
  await new Handshake(duplex, { ...options, flags: FLAG_PROBE }, true).run();
}

/**
 * Run the responder's side; resolves once the initiator is proven and admitted. A probe HELLO is
 * answered and then rejects with the HandshakeError reason PROBE_ANSWERED.
 */
export function secureResponder(duplex: Duplex, options: ResponderOptions): Promise<SecureConnection> {
  return new Handshake(duplex, options, false).run() as Promise<SecureConnection>;
}

export function checkedMaxFrameBytes(value: number | undefined): number {
  const max = value ?? DEFAULT_MAX_FRAME_BYTES;
  if (!Number.isInteger(max) || max < 1 || max > MAX_FRAME_BYTES_LIMIT)
    throw new InvalidArgumentError(
      `maxFrameBytes must be an integer in 1..${MAX_FRAME_BYTES_LIMIT}, got ${max}`,
    );
  return max;
}

type State = 'hello' | 'reply' | 'proof' | 'finished' | 'done';

class Handshake {
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly maxBodyBytes: number;
  private readonly reader: FrameReader;
  private readonly writer: FrameWriter;
  private readonly ephemeral: EphemeralKey;
  private readonly nonce: Uint8Array;
  private state: State;
  private hello: Uint8Array | undefined;
  private reply: Uint8Array | undefined;
  private helloFlags = 0;
  private peerHello: Hello | undefined;
  private pending: SecureConnection | undefined;
  private connection: SecureConnection | undefined;
  /** Resolves with the connection, or with undefined once a probe is done. */
  private resolve!: (c: SecureConnection | undefined) => void;
  private reject!: (e: HandshakeError) => void;
  private timer: { cancel(): void } | undefined;
  private readonly onData = (chunk: Buffer): void => this.reader.push(chunk);
  private readonly onEnd = (): void => this.fail('the peer closed the stream during the handshake', false);
  private readonly onError = (error: Error): void =>
    this.fail(`stream error during the handshake: ${error.message}`, false);

  constructor(
    private readonly duplex: Duplex,
    private readonly options: InitiatorOptions | ResponderOptions,
    private readonly initiator: boolean,
  ) {
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? systemRandom;
    this.maxBodyBytes = checkedMaxFrameBytes(options.maxFrameBytes);
    this.reader = new FrameReader(
      (frame) => this.onFrame(frame),
      (reason) => this.onReaderError(reason),
      MAX_HANDSHAKE_MESSAGE_BYTES,
    );
    this.writer = new FrameWriter(duplex, options.sendQueueBytes ?? DEFAULT_SEND_QUEUE_BYTES);
    this.ephemeral = ephemeralFromSecret(this.random.bytes(EPHEMERAL_KEY_BYTES));
    this.nonce = this.random.bytes(NONCE_BYTES);
    this.state = initiator ? 'reply' : 'hello';
  }

  run(): Promise<SecureConnection | undefined> {
    const promise = new Promise<SecureConnection | undefined>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    if (this.duplex.destroyed || !this.duplex.writable) {
      this.fail('the stream was already closed', false);
      return promise;
    }
    const timeoutMs = this.options.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.timer = this.clock.setTimeout(() => this.fail(`timed out after ${timeoutMs} ms`, true), timeoutMs);
    this.duplex.on('data', this.onData);
    this.duplex.on('end', this.onEnd);
    this.duplex.on('close', this.onEnd);
    this.duplex.on('error', this.onError);
    if (this.initiator) {
      const flags = (this.options as InitiatorOptions).flags ?? 0;
      this.hello = encodeHello(flags, this.nonce, this.ephemeral.publicKey);
      this.helloFlags = flags;
      this.writer.writeUrgent(encodeFrame(this.hello));
    }
    return promise;
  }

  private onFrame(frame: Uint8Array): void {
    if (this.connection) {
      this.connection.receiveFrame(frame);
      return;
    }
    try {
      this.step(frame);
    } catch (error) {
      // Hostile input must never throw out of a stream callback; report it as this handshake's failure.
      this.fail(`internal error on a handshake message: ${messageOf(error)}`, true);
    }
  }

  private onReaderError(reason: string): void {
    if (this.connection) this.connection.fail(reason);
    else this.fail(`handshake message too long: ${reason}`, true);
  }

  private step(frame: Uint8Array): void {
    if (this.state !== 'hello' && this.state !== 'finished') {
      const refusal = decodeRefuse(frame);
      if (refusal !== undefined) return this.fail(`refused by the peer: ${refusal}`, false);
    }
    switch (this.state) {
      case 'hello':
        return this.onHello(frame);
      case 'reply':
        return this.onReply(frame);
      case 'proof':
        return this.onProof(frame);
      case 'finished':
        return this.onFinished(frame);
      case 'done':
        return;
    }
  }

  /** Responder: answer a HELLO with our nonce, ephemeral key, identity and signature. */
  private onHello(frame: Uint8Array): void {
    const hello = decodeHello(frame);
    if (typeof hello === 'string') return this.fail(hello, true);
    this.hello = frame.slice();
    this.peerHello = hello;
    this.helloFlags = hello.flags;
    const { identity } = this.options;
    if (!hasIdentityShape(identity.publicKey, identity.puzzle))
      return this.fail('the local identity has a malformed key or puzzle', true);
    const signed = replySignedPart(this.nonce, this.ephemeral.publicKey, identity.publicKey, identity.puzzle);
    const signature = identity.signDigest(responderDigest(this.hello, signed));
    const reply = new Uint8Array(signed.length + signature.length);
    reply.set(signed);
    reply.set(signature, signed.length);
    this.reply = reply;
    this.state = 'proof';
    this.writer.writeUrgent(encodeFrame(reply));
    // A probe needs nothing more than the signed REPLY; end() lets it leave before the FIN.
    if ((hello.flags & FLAG_PROBE) !== 0) this.fail(PROBE_ANSWERED, false);
  }

  /** Initiator: check the responder's key, signature and puzzle; prove ourselves. */
  private onReply(frame: Uint8Array): void {
    const reply = decodeReply(frame);
    if (typeof reply === 'string') return this.fail(reply, true);
    const options = this.options as InitiatorOptions;
    if (!bytesEqual(reply.staticKey, options.expectedPublicKey))
      return this.fail(
        `the peer proved key ${toHex(reply.staticKey)}, not the dialled key ${toHex(options.expectedPublicKey)}`,
        true,
      );
    const hello = this.hello as Uint8Array;
    const signed = frame.subarray(0, frame.length - reply.signature.length);
    if (!this.verify(reply.staticKey, responderDigest(hello, signed), reply.signature))
      return this.fail("the responder's signature over the handshake does not verify", true);
    const refusal = this.admit(reply.staticKey, reply.puzzle);
    if (refusal !== undefined) return this.fail(`peer not admitted: ${refusal}`, true);
    if ((this.helloFlags & FLAG_PROBE) !== 0) {
      this.stop(undefined);
      return this.resolve(undefined);
    }

    const replyBytes = frame.slice();
    const { identity } = this.options;
    if (!hasIdentityShape(identity.publicKey, identity.puzzle))
      return this.fail('the local identity has a malformed key or puzzle', true);
    const proofSigned = proofSignedPart(identity.publicKey, identity.puzzle);
    const signature = identity.signDigest(initiatorDigest(hello, replyBytes, proofSigned));
    const proof = new Uint8Array(proofSigned.length + signature.length);
    proof.set(proofSigned);
    proof.set(signature, proofSigned.length);
    const keys = deriveSessionKeys(this.ephemeral.secret, reply.ephemeral, hello, replyBytes, proof);
    if (!keys) return this.fail("the responder's ephemeral key gives no usable shared secret", true);
    this.writer.writeUrgent(encodeFrame(proof));
    this.pending = this.makeConnection(reply.staticKey, keys.initiatorToResponder, keys.responderToInitiator);
    this.state = 'finished';
    this.reader.maxFrameBytes = this.maxBodyBytes + RECORD_OVERHEAD_BYTES;
  }

  /** Responder: check the initiator's signature and puzzle, then accept with FINISHED. */
  private onProof(frame: Uint8Array): void {
    const proof = decodeProof(frame);
    if (typeof proof === 'string') return this.fail(proof, true);
    const hello = this.hello as Uint8Array;
    const reply = this.reply as Uint8Array;
    const signed = frame.subarray(0, frame.length - proof.signature.length);
    if (!this.verify(proof.staticKey, initiatorDigest(hello, reply, signed), proof.signature))
      return this.fail("the initiator's signature over the handshake does not verify", true);
    const refusal = this.admit(proof.staticKey, proof.puzzle);
    if (refusal !== undefined) return this.fail(`peer not admitted: ${refusal}`, true);
    const veto = (this.options as ResponderOptions).beforeAccept?.(proof.staticKey, this.helloFlags);
    if (veto !== undefined) return this.fail(veto, true);
    const peerEphemeral = (this.peerHello as Hello).ephemeral;
    const keys = deriveSessionKeys(this.ephemeral.secret, peerEphemeral, hello, reply, frame);
    if (!keys) return this.fail("the initiator's ephemeral key gives no usable shared secret", true);
    const connection = this.makeConnection(
      proof.staticKey,
      keys.responderToInitiator,
      keys.initiatorToResponder,
    );
    const finished = connection.sealFinished();
    this.writer.writeUrgent(finished);
    this.reader.maxFrameBytes = this.maxBodyBytes + RECORD_OVERHEAD_BYTES;
    this.succeed(connection);
  }

  /** Initiator: the responder's first record says it accepted us. */
  private onFinished(frame: Uint8Array): void {
    const connection = this.pending as SecureConnection;
    const refusal = decodeRefuse(frame);
    const kind = connection.openFinished(frame);
    if (kind === RecordKind.Finished) return this.succeed(connection);
    if (refusal !== undefined) return this.fail(`refused by the peer: ${refusal}`, false);
    this.fail('expected the FINISHED record; the peer sent something else', true);
  }

  private verify(publicKey: Uint8Array, digest: Uint8Array, signature: Uint8Array): boolean {
    try {
      return this.options.verify(publicKey, digest, signature) === true;
    } catch {
      return false;
    }
  }

  private admit(publicKey: Uint8Array, puzzle: Uint8Array): string | undefined {
    if (!this.options.admit) return undefined;
    try {
      return this.options.admit(publicKey, puzzle);
    } catch (error) {
      return `admission check failed: ${messageOf(error)}`;
    }
  }

  private makeConnection(
    remoteKey: Uint8Array,
    sendKey: Uint8Array,
    receiveKey: Uint8Array,
  ): SecureConnection {
    return new SecureConnection({
      duplex: this.duplex,
      reader: this.reader,
      writer: this.writer,
      sealer: new RecordSealer(sendKey),
      opener: new RecordOpener(receiveKey),
      remotePublicKey: remoteKey,
      remoteAddress: this.options.remoteAddress ?? UNKNOWN_ADDRESS,
      initiator: this.initiator,
      clock: this.clock,
      maxBodyBytes: this.maxBodyBytes,
      idleCloseMs: this.options.idleCloseMs ?? 0,
    });
  }

  private succeed(connection: SecureConnection): void {
    this.state = 'done';
    this.timer?.cancel();
    this.detachLifecycle();
    // From here the connection owns the stream; frames already in this chunk go straight to it.
    this.connection = connection;
    connection.attach();
    this.resolve(connection);
  }

  private fail(reason: string, tellPeer: boolean): void {
    if (this.state === 'done') return;
    this.stop(tellPeer ? reason : undefined);
    this.reject(new HandshakeError(reason));
  }

  /** End the handshake and the stream, sending a refusal with this reason if there is one. */
  private stop(refusal: string | undefined): void {
    this.state = 'done';
    this.timer?.cancel();
    this.duplex.off('data', this.onData);
    this.detachLifecycle();
    this.reader.stop();
    const { duplex } = this;
    if (refusal !== undefined && duplex.writable) duplex.end(encodeFrame(encodeRefuse(refusal)));
    else if (duplex.writable) duplex.end();
    // Give the refusal a moment to leave, then make sure the stream is gone.
    if (!duplex.destroyed) {
      const linger = this.clock.setTimeout(() => duplex.destroy(), 1_000);
      duplex.once('close', () => linger.cancel());
    }
    duplex.on('error', ignore);
  }

  private detachLifecycle(): void {
    this.duplex.off('end', this.onEnd);
    this.duplex.off('close', this.onEnd);
    this.duplex.off('error', this.onError);
  }
}

function hasIdentityShape(publicKey: Uint8Array, puzzle: Uint8Array): boolean {
  return publicKey.length === STATIC_KEY_BYTES && puzzle.length === PUZZLE_BYTES;
}

function ignore(): void {}
