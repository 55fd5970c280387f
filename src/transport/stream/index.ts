/** The overlay's secure channel and stream transport. */
export type { AdmitPeer, ChannelIdentity, Connection, StreamTransport, VerifyDigest } from './types.js';
export { ConnectionLimitError, DialError, FrameTooLargeError, HandshakeError } from './errors.js';
export {
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_SEND_QUEUE_BYTES,
  FrameReader,
  FrameWriter,
  MAX_FRAME_BYTES_LIMIT,
  encodeFrame,
} from './framing.js';
export { memoryDuplexPair } from './duplex-pair.js';
export { type ChannelOptions, HANDSHAKE_TIMEOUT_MS, secureInitiator, secureResponder } from './channel.js';
export { CloseReason, SecureConnection } from './connection.js';
export {
  DUPLICATE_REFUSAL,
  IDLE_CLOSE_MS,
  MAX_CONNECTIONS,
  MAX_HANDSHAKES,
  TcpStreamTransport,
  type StreamTransportEvent,
  type TcpStreamTransportOptions,
} from './tcp.js';
