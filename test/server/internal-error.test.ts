/** A bug in a handler is a 500 INTERNAL in the registry's shape, and is logged, never a bare stack. */
import { describe, expect, it } from 'vitest';
import { errorRegistry } from '../../src/core/errors.js';
import { buildApi } from '../../src/server/http-api.js';
import { fakeApiNode } from './fake-api-node.js';

describe('an unexpected failure', () => {
  it('answers 500 INTERNAL, retryable, with the registry shape', async () => {
    const node = fakeApiNode({ code: 'NOT_READY', message: 'unused' });
    const app = buildApi({ ...node, tables: () => ({ t: { mode: 'async' } }) as never, submit: () => Promise.reject(new Error('a bug')) });
    const r = await app.inject({ method: 'PATCH', url: '/v1/tables/t/rows/k', payload: { set: { a: 1 } } });
    expect(r.statusCode).toBe(errorRegistry.INTERNAL.status);
    expect(r.json()).toEqual({ error: { code: 'INTERNAL', message: 'internal error; see the node log', retryable: true } });
  });
});
