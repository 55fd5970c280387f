import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ScrapeBloom } from '../../src/protocols/mainline/scrape-bloom.js';
import { toHex } from '../../src/util/bytes.js';

const SPEC_FILTER = `
 F6C3F5EA A07FFD91 BDE89F77 7F26FB2B FF37BDB8 FB2BBAA2 FD3DDDE7 BACFFF75 EE7CCBAE
 FE5EEDB1 FBFAFF67 F6ABFF5E 43DDBCA3 FD9B9FFD F4FFD3E9 DFF12D1B DF59DB53 DBE9FA5B
 7FF3B8FD FCDE1AFB 8BEDD7BE 2F3EE71E BBBFE93B CDEEFE14 8246C2BC 5DBFF7E7 EFDCF24F
 D8DC7ADF FD8FFFDF DDFFF7A4 BBEEDF5C B95CE81F C7FCFF1F F4FFFFDF E5F7FDCB B7FD79B3
 FA1FC77B FE07FFF9 05B7B7FF C7FEFEFF E0B8370B B0CD3F5B 7F2BD93F EB4386CF DD6F7FD5
 BFAF2E9E BFFFFEEC D67ADBF7 C67F17EF D5D75EBA 6FFEBA7F FF47A91E B1BFBB53 E8ABFB57
 62ABE8FF 237279BF EFBFEEF5 FFC5FEBF DFE5ADFF ADFEE1FB 737FFFFB FD9F6AEF FEEE76B6
 FD8F72EF`
  .replace(/\s+/g, '')
  .toLowerCase();

describe('BEP 33 scrape bloom filter', () => {
  it('matches the spec test vector: 192.0.2.0-255 and 2001:db8::-3e7', () => {
    const bloom = new ScrapeBloom();
    for (let i = 0; i <= 255; i++) assert.ok(bloom.insertHost(`192.0.2.${i}`));
    for (let i = 0; i <= 0x3e7; i++) assert.ok(bloom.insertHost(`2001:db8::${i.toString(16)}`));
    assert.equal(toHex(bloom.bits), SPEC_FILTER);
    // The spec prints the estimate truncated to four decimals.
    assert.ok(Math.abs(bloom.estimate() - 1224.9308) < 1e-4, `estimate ${bloom.estimate()}`);
  });

  it('estimates small sets, an empty filter, and unions', () => {
    const a = new ScrapeBloom();
    assert.equal(a.estimate(), 0);
    a.insertHost('198.51.100.1');
    a.insertHost('198.51.100.1');
    assert.ok(Math.abs(a.estimate() - 1) < 0.6);
    const b = new ScrapeBloom();
    for (let i = 0; i < 20; i++) b.insertHost(`203.0.113.${i}`);
    a.merge(b);
    assert.ok(Math.abs(a.estimate() - 21) < 3, `estimate ${a.estimate()}`);
    assert.equal(a.insertHost('not-an-ip'), false);
    assert.throws(() => new ScrapeBloom(new Uint8Array(10)), /256 bytes/);
  });
});
