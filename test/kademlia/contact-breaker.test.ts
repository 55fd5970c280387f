import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CONTACT_BACKOFF_MS,
  CONTACT_FAILURES_TO_OPEN,
  ContactBreakers,
  MAX_CONTACT_BACKOFF_MS,
  PROBE_GRACE_MS,
} from '../../src/kademlia/contact-breaker.js';

const A = '1.2.3.4:6881';
const B = '5.6.7.8:6881';

function failTimes(b: ContactBreakers, key: string, n: number, now: number): void {
  for (let i = 0; i < n; i++) b.failed(key, now);
}

describe('contact breakers', () => {
  it('open after repeated timeouts, skip for the back-off, then let exactly one probe through', () => {
    const b = new ContactBreakers();
    failTimes(b, A, CONTACT_FAILURES_TO_OPEN - 1, 0);
    assert.equal(b.allow(A, 0), true, 'still closed below the threshold');
    b.failed(A, 0);
    assert.equal(b.state(A, 0), 'open');
    assert.equal(b.allow(A, CONTACT_BACKOFF_MS - 1), false, 'skipped during the back-off');
    assert.equal(b.allow(B, 1), true, 'other contacts are unaffected');
    assert.equal(b.allow(A, CONTACT_BACKOFF_MS), true, 'the probe goes out when the back-off ends');
    assert.equal(b.allow(A, CONTACT_BACKOFF_MS + 1), false, 'only one probe at a time');
    assert.equal(b.state(A, CONTACT_BACKOFF_MS + 1), 'probing');
    assert.equal(b.skipped, 2);
    assert.equal(b.opened, 1);
  });

  it('an answer closes the breaker; a failed probe doubles the back-off up to the cap', () => {
    const b = new ContactBreakers();
    failTimes(b, A, CONTACT_FAILURES_TO_OPEN, 0);
    let now = CONTACT_BACKOFF_MS;
    assert.equal(b.allow(A, now), true);
    b.failed(A, now);
    assert.equal(b.allow(A, now + 2 * CONTACT_BACKOFF_MS - 1), false, 'back-off doubled');
    now += 2 * CONTACT_BACKOFF_MS;
    assert.equal(b.allow(A, now), true);
    b.succeeded(A);
    assert.equal(b.state(A, now), 'closed');
    assert.equal(b.allow(A, now), true);
    assert.equal(b.size, 0, 'a closed breaker is forgotten');
    // The back-off never grows past the cap.
    const c = new ContactBreakers();
    failTimes(c, B, CONTACT_FAILURES_TO_OPEN, 0);
    let t = 0;
    for (let i = 0; i < 20; i++) {
      t += MAX_CONTACT_BACKOFF_MS;
      assert.equal(c.allow(B, t), true, `probe ${i} allowed after the capped back-off`);
      c.failed(B, t);
    }
    assert.equal(c.allow(B, t + MAX_CONTACT_BACKOFF_MS - 1), false);
  });

  it('a probe whose outcome never came frees the slot after the grace period', () => {
    const b = new ContactBreakers();
    failTimes(b, A, CONTACT_FAILURES_TO_OPEN, 0);
    assert.equal(b.allow(A, CONTACT_BACKOFF_MS), true);
    assert.equal(b.allow(A, CONTACT_BACKOFF_MS + PROBE_GRACE_MS - 1), false);
    assert.equal(b.allow(A, CONTACT_BACKOFF_MS + PROBE_GRACE_MS), true);
  });

  it('answers between timeouts keep it closed, and the map stays bounded', () => {
    const b = new ContactBreakers(4);
    for (let i = 0; i < 10; i++) {
      b.failed(A, i);
      b.failed(A, i);
      b.succeeded(A);
    }
    assert.equal(b.state(A, 10), 'closed');
    for (let i = 0; i < 10; i++) b.failed(`10.0.0.${i}:1`, 0);
    assert.equal(b.size, 4);
  });
});
