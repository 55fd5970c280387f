/** Turning "host:port" names into addresses. DNS is I/O, so it is injected like the clock. */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { type Address, makeAddress, parseHostPort } from '../transport/address.js';

export type Resolver = (host: string) => Promise<string[]>;

export const systemResolver: Resolver = async (host) => {
  const results = await lookup(host, { all: true, family: 4 });
  return results.map((r) => r.address);
};

export interface Resolved {
  addresses: Address[];
  /** One line per name that failed, saying why. */
  problems: string[];
}

export async function resolveAll(names: readonly string[], resolver: Resolver): Promise<Resolved> {
  const addresses: Address[] = [];
  const problems: string[] = [];
  await Promise.all(
    names.map(async (name) => {
      const parsed = parseHostPort(name);
      if ('error' in parsed) {
        problems.push(parsed.error);
        return;
      }
      if (isIP(parsed.host)) {
        addresses.push(makeAddress(parsed.host, parsed.port));
        return;
      }
      try {
        for (const ip of await resolver(parsed.host)) addresses.push(makeAddress(ip, parsed.port));
      } catch (err) {
        problems.push(`cannot resolve ${parsed.host}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
    }),
  );
  return { addresses, problems };
}
