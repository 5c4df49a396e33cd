/**
 * Who may read what the API shows outside calls: /metrics is open unless the configuration says
 * `auth.metrics: users`; /v1/status and /v1/tables take any user, or the cluster's node secret (another
 * node, or a router holding the cluster file), and nobody else once authentication is required.
 */
import { describe, expect, it } from 'vitest';
import { buildApi, type ApiNode } from '../../src/server/http-api.js';
import { fakeApiNode } from './fake-api-node.js';
import type { NodeMetrics } from '../../src/server/metrics.js';

function node(over: Partial<ApiNode>): { node: ApiNode; callers: Array<string | null> } {
  const callers: Array<string | null> = [];
  const base = fakeApiNode({ code: 'NOT_READY', message: 'unused' });
  return {
    callers,
    node: {
      ...base,
      authRequired: true,
      rootUser: 'root',
      authenticate: async (h) => (h === undefined ? { ok: true, value: undefined } : h === 'Bearer alice.good' ? { ok: true, value: { user: 'alice' } } : { ok: false, error: { code: 'UNAUTHENTICATED', message: 'the token is not valid' } }),
      isNode: (sent) => sent === 'the-node-secret',
      metrics: { observeRequest: () => undefined, contentType: 'text/plain', text: async () => 'tern_up 1\n' } as unknown as NodeMetrics,
      submit: async (call) => {
        // The core's own answer to whoami: the user exists (every one does in this test).
        if (call.kind === 'whoami' && call.caller !== undefined) return { ok: true, result: { kind: 'whoami', user: call.caller.user, roles: [], clusterAdmin: false }, replayed: false };
        callers.push(call.caller?.user ?? null);
        return call.caller === undefined ? { ok: false, error: { code: 'UNAUTHENTICATED', message: 'send a token' } } : { ok: false, error: { code: 'NOT_READY', message: 'no status in this test' } };
      },
      ...over,
    },
  };
}

describe('access to what the API shows outside calls', () => {
  it('/metrics is open by default, and needs a valid caller with auth.metrics: users', async () => {
    const open = buildApi(node({}).node);
    expect((await open.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    const closed = buildApi(node({ metricsProtected: true }).node);
    expect((await closed.inject({ method: 'GET', url: '/metrics' })).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    expect((await closed.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer alice.bad' } })).statusCode).toBe(401);
    const ok = await closed.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer alice.good' } });
    expect([ok.statusCode, ok.body]).toEqual([200, 'tern_up 1\n']);
    // Without authentication required there is nobody to ask for.
    expect((await buildApi(node({ authRequired: false, metricsProtected: true }).node).inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });

  it('the table list and the status take a user or the node secret, nobody else', async () => {
    const { node: n, callers } = node({});
    const app = buildApi(n);
    expect((await app.inject({ method: 'GET', url: '/v1/tables' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/tables', headers: { 'tern-node-auth': 'a-guess' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/v1/tables', headers: { 'tern-node-auth': 'the-node-secret' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/v1/tables', headers: { authorization: 'Bearer alice.good' } })).statusCode).toBe(200);
    await app.inject({ method: 'GET', url: '/v1/status', headers: { 'tern-node-auth': 'a-guess' } });
    await app.inject({ method: 'GET', url: '/v1/status', headers: { 'tern-node-auth': 'the-node-secret' } });
    await app.inject({ method: 'GET', url: '/v1/status', headers: { authorization: 'Bearer alice.good' } });
    // The status call reaches the core with no caller, as the cluster admin, and as alice.
    expect(callers).toEqual([null, 'root', 'alice']);
  });
});
