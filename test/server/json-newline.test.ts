/** HTTP answers in JSON end with a newline (curl output does not run into the prompt); the body still parses. */
import { describe, expect, it } from 'vitest';
import { buildApi } from '../../src/server/http-api.js';
import { fakeApiNode } from './fake-api-node.js';

describe('JSON answers', () => {
  it('end with one newline, with the content-length to match, for successes and errors alike', async () => {
    const app = buildApi(fakeApiNode({ code: 'NOT_READY', message: 'not ready' }));
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
