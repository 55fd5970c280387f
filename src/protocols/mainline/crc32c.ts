/**
 * CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum BEP 42 ties node ids to IPs
 * with. Node has no built-in crc32c, so this is a plain table-driven implementation.
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32C of bytes, as an unsigned 32-bit integer. `crc32c(utf8("123456789")) === 0xe3069283`. */
export function crc32c(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) {
    crc = (TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}
