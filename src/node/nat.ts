/**
 * What the node knows about the NAT in front of it: the external address from every observer
 * (the DHT's BEP 42 `ip` votes and STUN), and the mapping and filtering behaviour from an RFC 5780
 * STUN server. Reported in dht.stats(), the `nat` event, metrics and the dashboard.
 */
import { networkInterfaces } from 'node:os';
import type { StunClient } from '../protocols/stun/client.js';
import {
  classifyNat,
  type FilteringBehaviour,
  type MappingBehaviour,
  type NatKind,
} from '../protocols/stun/classify.js';
import type { Address } from '../transport/address.js';

/**
 * The feature breaker (node/feature-breakers.ts) over STUN and TURN: the replies and indications
 * arriving on the DHT's socket, and NAT discovery. Off, STUN datagrams are dropped (a TURN
 * allocation then lapses) and discoverNat() refuses with FEATURE_OFF; the DHT runs on.
 */
export const STUN_FEATURE = 'stun';

export interface NatReport {
  kind: NatKind;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  /** Our external address and port as STUN saw it. */
  external: Address;
  /** The external IP the DHT's responders agree on (BEP 42), when they do. */
  dhtExternalIp: string | undefined;
  /** True when every observer saw the same external IP. */
  observersAgree: boolean;
  /** Observers consulted: STUN probes that answered, plus the DHT vote when there is one. */
  observers: number;
  /** The STUN server asked. */
  stunServer: Address;
  /** When the report was made (the node's clock). */
  at: number;
}

/** This machine's own addresses: a mapped address among them means there is no NAT. */
export function localHosts(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.push(i.address);
  return out;
}

export async function discoverNat(
  stun: StunClient,
  server: Address,
  local: Address,
  dhtExternalIp: string | undefined,
  now: number,
  signal?: AbortSignal,
): Promise<NatReport> {
  const c = await classifyNat(stun, server, local, localHosts(), signal);
  const hosts = new Set(c.observed.map((a) => a.host));
  if (dhtExternalIp) hosts.add(dhtExternalIp);
  return {
    kind: c.kind,
    mapping: c.mapping,
    filtering: c.filtering,
    external: c.mapped,
    dhtExternalIp,
    observersAgree: hosts.size === 1,
    observers: c.observed.length + (dhtExternalIp ? 1 : 0),
    stunServer: server,
    at: now,
  };
}
