/** IP text <-> bytes, both families, without allocation-heavy helpers. Returns undefined on bad input. */

export function ipv4ToBytes(
  host: string,
  out: Uint8Array = new Uint8Array(4),
  offset = 0,
): Uint8Array | undefined {
  let part = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255 || part > 3) return undefined;
      out[offset + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39 && digits < 3 && !(digits > 0 && value === 0)) {
      // No leading zeros: the same dotted quads node:net's isIP accepts.
      value = value * 10 + (c - 0x30);
      digits++;
    } else {
      return undefined;
    }
  }
  return part === 4 ? out : undefined;
}

export function bytesToIpv4(b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`;
}

export function ipv6ToBytes(
  host: string,
  out: Uint8Array = new Uint8Array(16),
  offset = 0,
): Uint8Array | undefined {
  let text = host;
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === '') return [];
    const groups: number[] = [];
    const parts = s.split(':');
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i] as string;
      if (i === parts.length - 1 && p.includes('.')) {
        const v4 = ipv4ToBytes(p);
        if (!v4) return undefined;
        groups.push(
          ((v4[0] as number) << 8) | (v4[1] as number),
          ((v4[2] as number) << 8) | (v4[3] as number),
        );
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return undefined;
        groups.push(Number.parseInt(p, 16));
      }
    }
    return groups;
  };
  const head = parseGroups(halves[0] as string);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || (halves.length === 2 && missing < 1)) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  for (let i = 0; i < 8; i++) {
    const g = groups[i] as number;
    out[offset + i * 2] = g >> 8;
    out[offset + i * 2 + 1] = g & 0xff;
  }
  return out;
}

export function bytesToIpv6(b: Uint8Array, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++)
    groups.push(((b[offset + i * 2] as number) << 8) | (b[offset + i * 2 + 1] as number));
  // Compress the longest run of zero groups (RFC 5952).
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
