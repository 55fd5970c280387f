/**
 * NAT behaviour discovery (RFC 5780 §4.3, §4.4) with one STUN server that has two addresses:
 * - mapping: our mapped address towards the server's primary and its other IP; equal means
 *   endpoint-independent (a cone), different means endpoint-dependent (symmetric);
 * - filtering: asking the server to answer from its other IP and port (an answer gets through:
 *   endpoint-independent), or from its other port only (address-dependent), or neither
 *   (address-and-port-dependent).
 * Both filtering probes run at once, before anything is sent to the other IP (see below).
 */
import { type Address, sameAddress } from '../../transport/address.js';
import type { BindingResult, StunClient } from './client.js';

export type MappingBehaviour = 'none' | 'endpoint-independent' | 'endpoint-dependent' | 'unknown';
export type FilteringBehaviour =
  'endpoint-independent' | 'address-dependent' | 'address-and-port-dependent' | 'unknown';
/** The classic names, derived from the two behaviours. */
export type NatKind =
  'open' | 'full-cone' | 'address-restricted' | 'port-restricted' | 'symmetric' | 'unknown';

/** How long a filtering probe waits: its silence is the answer, so it must be short. */
export const FILTER_PROBE_MS = 700;

export interface NatClassification {
  /** Our address as the server saw it. */
  mapped: Address;
  mapping: MappingBehaviour;
  filtering: FilteringBehaviour;
  kind: NatKind;
  /** The addresses we were seen as, one per probe that answered. */
  observed: Address[];
}

export function natKind(mapping: MappingBehaviour, filtering: FilteringBehaviour): NatKind {
  if (mapping === 'none') return 'open';
  if (mapping === 'endpoint-dependent') return 'symmetric';
  if (mapping === 'unknown') return 'unknown';
  switch (filtering) {
    case 'endpoint-independent':
      return 'full-cone';
    case 'address-dependent':
      return 'address-restricted';
    case 'address-and-port-dependent':
      return 'port-restricted';
    default:
      return 'unknown';
  }
}

async function maybe(p: Promise<BindingResult>): Promise<BindingResult | undefined> {
  try {
    return await p;
  } catch {
    return undefined;
  }
}

/**
 * Classify the NAT in front of `local` (our bound address; an unspecified 0.0.0.0 host means
 * "any of ours", so only the port is compared) using an RFC 5780 server. Throws when the server
 * does not answer the first Binding request at all.
 */
export async function classifyNat(
  client: StunClient,
  server: Address,
  local: Address,
  localHosts: readonly string[],
  signal?: AbortSignal,
): Promise<NatClassification> {
  const first = await client.binding(server, { signal });
  const observed = [first.mapped];
  const open =
    first.mapped.port === local.port &&
    (localHosts.includes(first.mapped.host) || first.mapped.host === local.host);
  const other = first.other;
  // Filtering first: once we have sent to the server's other IP, a NAT that filters by address
  // lets that IP in, and the change-IP probe would pass for the wrong reason.
  const [both, portOnly] = other
    ? await Promise.all([
        maybe(
          client.binding(server, { signal, timeoutMs: FILTER_PROBE_MS, change: { ip: true, port: true } }),
        ),
        maybe(
          client.binding(server, { signal, timeoutMs: FILTER_PROBE_MS, change: { ip: false, port: true } }),
        ),
      ])
    : [undefined, undefined];
  const second =
    other && !open ? await maybe(client.binding({ ...other, port: server.port }, { signal })) : undefined;
  if (second) observed.push(second.mapped);
  let mapping: MappingBehaviour;
  if (open) mapping = 'none';
  else if (!second) mapping = 'unknown';
  else mapping = sameAddress(second.mapped, first.mapped) ? 'endpoint-independent' : 'endpoint-dependent';
  let filtering: FilteringBehaviour;
  if (!other) filtering = 'unknown';
  else if (both) filtering = 'endpoint-independent';
  else if (portOnly) filtering = 'address-dependent';
  else filtering = 'address-and-port-dependent';
  return { mapped: first.mapped, mapping, filtering, kind: natKind(mapping, filtering), observed };
}
