import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LIE_COST, Reputation } from '../../src/kademlia/reputation.js';

describe('Reputation', () => {
  it('trusts unknown and honest contacts, and timeouts alone never distrust', () => {
    const r = new Reputation();
    assert.equal(r.trusted('1.2.3.4:1'), true);
    for (let i = 0; i < 50; i++) r.timedOut('1.2.3.4:1');
    r.answered('1.2.3.4:1');
    assert.equal(r.trusted('1.2.3.4:1'), true);
  });

  it('a lie outweighs LIE_COST answers; the change to distrusted is reported once', () => {
    const r = new Reputation();
    for (let i = 0; i < LIE_COST; i++) r.answered('a');
    assert.equal(r.lied('a'), false, 'LIE_COST answers still cover one lie');
    assert.equal(r.trusted('a'), true);
    assert.equal(r.lied('a'), true, 'the second lie tips it');
    assert.equal(r.trusted('a'), false);
    assert.equal(r.lied('a'), false, 'already distrusted');
    assert.equal(r.distrusted, 1);
    assert.equal(r.lied('b'), true, 'a liar we never heard answer is distrusted at once');
  });

  it('is bounded: the least recently touched record goes first', () => {
    const r = new Reputation(3);
    r.lied('a');
    r.lied('b');
    r.lied('c');
    r.answered('a'); // touch a: b is now the oldest
    r.answered('d');
    assert.equal(r.size, 3);
    assert.equal(r.get('b'), undefined);
    assert.equal(r.trusted('b'), true, 'a forgotten contact starts over');
    assert.equal(r.trusted('a'), false);
  });
});
