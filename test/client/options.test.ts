/** connect() refuses options it cannot use, at once, naming them. */
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/index.js';

describe('connect options', () => {
  it('refuses bad values with a TypeError naming the option', () => {
    const regions = ['http://a.test'];
    expect(() => connect({ regions: [] })).toThrow(/at least one region/);
    expect(() => connect({ regions, probeIntervalMs: -1 })).toThrow(/probeIntervalMs/);
    expect(() => connect({ regions, deadlineMs: 0 })).toThrow(/deadlineMs/);
    expect(() => connect({ regions, maxAttempts: 1.5 })).toThrow(/maxAttempts/);
    expect(() => connect({ regions, backoff: { baseMs: 1000, maxMs: 10 } })).toThrow(/backoff.maxMs/);
    expect(() => connect({ regions, order: 'random' as 'given' })).toThrow(/order/);
  });

  it('counts a URL given twice once, and sends nothing before the first call', () => {
    let fetched = 0;
    const db = connect({ regions: ['http://a.test', 'http://a.test'], fetch: (async () => { fetched += 1; throw new TypeError('no'); }) as typeof fetch });
    expect(db.health().map((h) => h.url)).toEqual(['http://a.test']);
    expect(fetched).toBe(0);
    db.close();
  });
});
