/**
 * Identity rotation: what the next node of a rotating daemon (privacy.rotate_every_s) or a
 * rotating simulated node starts from: a fresh id and the contacts it rejoins through. The node
 * itself is unchanged: a rotation is a new node on a new port that keeps the old one's storage.
 */
import type { ExportedTable } from '../kademlia/routing-table.js';
import { idToHex, randomNodeId } from '../kademlia/id.js';
import { isExemptAddress, secureNodeId } from '../protocols/mainline/secure-id.js';
import { ID_LENGTH } from '../protocols/mainline/messages.js';
import type { Random } from '../util/random.js';

/**
 * Contacts handed to the next node to rejoin through. Bootstrap asks each of them (and the
 * routers) once, so this bounds a rotation's cost to the network; 64 answering contacts spread
 * over the table are plenty to rebuild it with one lookup of the new id.
 */
export const MAX_ROTATION_CONTACTS = 64;

/**
 * A fresh id for the next node. BEP 42: when the network has agreed on our external address, the
 * id is a secure one for it (21 bits from the address's CRC, the rest random), so peers that
 * prefer secure ids keep preferring us; otherwise random, and the new node re-derives it once
 * its own replies agree on an address, as any node does.
 */
export function freshNodeId(externalIp: string | undefined, random: Random): Uint8Array {
  if (externalIp !== undefined && !isExemptAddress(externalIp)) return secureNodeId(externalIp, random);
  return randomNodeId(random, ID_LENGTH);
}

/**
 * The table the next node starts from: a fresh id (passed as a saved table's id, not a pinned
 * one, so BEP 42 may still replace it) and some of the contacts the old node knew, to rejoin
 * through along with the bootstrap routers. Spread over the table rather than its first entries,
 * so the new id's lookup starts from all over the key space.
 */
export function successorTable(
  previous: ExportedTable,
  externalIp: string | undefined,
  random: Random,
): ExportedTable {
  return {
    id: idToHex(freshNodeId(externalIp, random)),
    nodes: spread(previous.nodes, MAX_ROTATION_CONTACTS),
  };
}

/** At most `max` items taken evenly across the list. */
function spread<T>(list: readonly T[], max: number): T[] {
  if (list.length <= max) return list.slice();
  const out: T[] = [];
  for (let i = 0; i < max; i++) out.push(list[Math.floor((i * list.length) / max)] as T);
  return out;
}
