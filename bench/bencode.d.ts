// Minimal types for the `bencode` npm package (v4 ships none): the two calls the codec benchmark makes.
declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array): unknown;
  };
  export default bencode;
}
