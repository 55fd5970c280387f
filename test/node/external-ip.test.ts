import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ExternalIpVoter, MAX_IP_VOTERS } from '../../src/node/external-ip.js';
import type { Address } from '../../src/transport/address.js';

const at = (host: string, port = 6881): Address => ({ host, port, family: 4 });

describe('external IP voting (BEP 42)', () => {
  it('believes an address only once MIN_IP_VOTES distinct responders agree', () => {
    const voter = new ExternalIpVoter();
    assert.equal(voter.report(at('8.0.0.1'), at('60.1.2.3')), undefined);
    assert.equal(
      voter.report(at('8.0.0.1', 7000), at('60.1.2.3')),
      undefined,
      'same IP, other port: one vote',
    );
    assert.equal(voter.report(at('8.0.0.2'), at('60.1.2.3')), undefined);
    assert.equal(voter.report(at('8.0.0.3'), at('60.1.2.3')), '60.1.2.3');
    assert.equal(voter.get(4), '60.1.2.3');
    assert.equal(voter.report(at('8.0.0.4'), at('60.1.2.3')), undefined, 'no change, no news');
  });

  it('counts a responder once, at its latest report', () => {
    const voter = new ExternalIpVoter();
    for (const r of ['8.0.0.1', '8.0.0.2', '8.0.0.3']) voter.report(at(r), at('60.1.2.3'));
    // Two of the three change their minds, then a fourth agrees: 3 of 4 say the new address.
    voter.report(at('8.0.0.1'), at('61.0.0.9'));
    assert.equal(voter.report(at('8.0.0.2'), at('61.0.0.9')), undefined, '2 of 3 is not yet 3 votes');
    assert.equal(voter.report(at('8.0.0.4'), at('61.0.0.9')), '61.0.0.9');
  });

  it('lets each address:port vote on local addresses, and forgets the oldest voters', () => {
    const voter = new ExternalIpVoter();
    for (let port = 1; port <= 3; port++) voter.report(at('127.0.0.1', port), at('127.0.0.1'));
    assert.equal(voter.get(4), '127.0.0.1');
    // A flood of voters for another address pushes the old ones out of the ballot.
    for (let i = 0; i < MAX_IP_VOTERS; i++) voter.report(at(`9.0.${i >> 8}.${i & 255}`), at('62.0.0.1'));
    assert.equal(voter.get(4), '62.0.0.1');
    assert.equal(voter.get(6), undefined, 'families vote apart');
  });
});
