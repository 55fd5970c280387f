/** Sizes shared by the overlay's identity, puzzle, item and message code (re-exported by identity.ts). */

/** A compressed secp256k1 public key (Skywire's `cipher.PubKey`). */
export const PUBLIC_KEY_BYTES = 33;
/** r(32) || s(32) || recovery id(1) (Skywire's `cipher.Sig`). */
export const SIGNATURE_BYTES = 65;
/** SHA-256 of the public key (Skywire's `NodeID`). */
export const OVERLAY_ID_BYTES = 32;
export const SECRET_KEY_BYTES = 32;
export const DIGEST_BYTES = 32;
