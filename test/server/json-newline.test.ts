/** HTTP answers in JSON end with a newline (curl output does not run into the prompt); the body still parses. */
import { describe, expect, it } from 'vitest';
import type { ClientReply } from '../../src/core/replica/messages.js';
import { buildApi, type ApiNode } from '../../src/server/http-api.js';
import type { NodeMetrics } from '../../src/server/metrics.js';

function node(): ApiNode {
  const unused = (): never => {
    throw new Error('not used by this test');
  };
  return {
    region: 'us-east',
    nodeId: 'us-east-1',
    regions: ['us-east'],
    mergeFunctions: [],
    submit: async (): Promise<ClientReply> => ({ ok: false, error: { code: 'NOT_READY', message: 'not ready' } }),
    submitStrong: unused,
    submitAdmin: unused,
    status: unused,
    tables: () => ({}),
    metrics: { observeRequest: () => undefined } as unknown as NodeMetrics,
  };
}

describe('JSON answers', () => {
  it('end with one newline, with the content-length to match, for successes and errors alike', async () => {
    const app = buildApi(node());
    try {
      for (const url of ['/v1/tables', '/v1/tables/nope/rows/k', '/no/such/route']) {
        const r = await app.inject({ method: 'GET', url });
        expect(r.headers['content-type'], url).toMatch(/^application\/json/);
        expect(r.body.endsWith('}\n'), `${url}: ${JSON.stringify(r.body)}`).toBe(true);
        expect(r.body.endsWith('\n\n'), url).toBe(false);
        expect(Number(r.headers['content-length']), url).toBe(Buffer.byteLength(r.body));
        expect(() => JSON.parse(r.body), url).not.toThrow();
      }
    } finally {
      await app.close();
    }
  });
});
