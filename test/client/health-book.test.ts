/** The SDK's health book: an answer to a probe that is not a node's /readyz is a failure, not health. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF } from '../../src/client/backoff.js';
import { HealthBook } from '../../src/client/health.js';

describe('health book', () => {
  it("a proxy's error page instead of a /readyz body counts as a failure and backs the region off", () => {
    const book = new HealthBook(['http://a.test'], DEFAULT_BACKOFF, () => 0.5);
    book.probed('http://a.test', null, 5, 1_000);
    expect(book.get('http://a.test')).toMatchObject({ failures: 1, stage: null });
    expect(book.get('http://a.test')?.backoffUntil).toBeGreaterThan(1_000);
    book.probed('http://a.test', { stage: 'write-ready', reason: null, region: 'us-east', cluster: 'c' }, 5, 2_000);
    expect(book.get('http://a.test')).toMatchObject({ failures: 0, stage: 'write-ready' });
  });
});
