/**
 * Privacy rotation in the daemon: every `privacy.rotate_every_s` it starts a node with a fresh id
 * on a fresh ephemeral port (node/rotation.ts picks the id and the contacts it rejoins through),
 * moves the API and statistics to it once it has joined, and closes the old one (daemon.ts).
 */
/** What the daemon tells listeners after each rotation. */
export interface RotationEvent {
  /** Rotations since the daemon started. */
  rotations: number;
  id: string;
  previousId: string;
  port: number;
  previousPort: number;
  /** From the start of the rotation to the new node joined and serving, ms. */
  tookMs: number;
}

export interface DaemonEvents {
  rotated: RotationEvent;
}
