/**
 * A cluster that requires authentication, as real processes: no token is 401, a token without the
 * grant 403, each with nothing written; users and roles made through the API; a user deleted in
 * one region is refused in another once that region has applied the deletion; copies of the
 * database are a cluster admin's (or another node's); no token appears in any log.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/server/config.js';
import { nodeSecret } from '../../src/server/auth/node-secret.js';
import { ProcessCluster } from './harness.js';

const cluster = new ProcessCluster({ auth: true, rttMs: { 'us-east/eu-west': 20, 'us-east/ap-south': 40, 'eu-west/ap-south': 30 } });
const tokens: string[] = [];

beforeAll(async () => {
  await cluster.start();
  tokens.push(cluster.rootToken);
}, 120_000);

afterAll(async () => {
  await cluster.stop();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const root = () => bearer(cluster.rootToken);

const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms?: number) => cluster.until(what, get, ok, ms);

describe('authentication and roles (real processes)', () => {
  it('no token: 401 and nothing written; a malformed header: 400 naming it; health stays open', async () => {
    const w = await cluster.http('us-east', 'PATCH', '/v1/tables/profiles/rows/anon', { set: { name: 'x' } });
    expect(w).toMatchObject({ status: 401, body: { error: { code: 'UNAUTHENTICATED', retryable: false } } });
    expect((await cluster.http('us-east', 'PATCH', '/v1/tables/profiles/rows/anon', { set: { name: 'x' } }, { authorization: 'Basic abc' })).body.error).toMatchObject({ code: 'BAD_REQUEST', field: 'authorization' });
    expect((await cluster.http('us-east', 'GET', '/v1/tables/profiles/rows/anon', undefined, root())).status).toBe(404);
    expect((await cluster.http('us-east', 'GET', '/readyz')).status).toBe(200);
    expect((await cluster.http('us-east', 'GET', '/v1/status')).status).toBe(401);
    expect((await cluster.http('us-east', 'GET', '/v1/tables')).status).toBe(401);
    // Refused before a token is made (making one costs a scrypt).
    expect((await cluster.http('us-east', 'PUT', '/v1/users/eve', { roles: [] })).status).toBe(401);
    expect((await cluster.http('us-east', 'GET', '/v1/whoami', undefined, root())).body).toEqual({ user: 'root', roles: [], clusterAdmin: true });
  }, 60_000);

  it('grants: a writer of profiles writes there, is refused 403 on accounts and on admin routes, with nothing written', async () => {
    expect((await cluster.http('us-east', 'PUT', '/v1/roles/writer', { grants: { profiles: ['write'] } }, root())).status).toBe(200);
    expect((await cluster.http('us-east', 'PUT', '/v1/roles/ghost', { grants: { nope: ['read'] } }, root())).body.error).toMatchObject({ code: 'BAD_REQUEST', field: 'grants.nope' });
    const made = await cluster.http('us-east', 'PUT', '/v1/users/alice', { roles: ['writer'] }, root());
    expect(made).toMatchObject({ status: 200, body: { user: 'alice', roles: ['writer'], changed: true } });
    const alice = made.body.token as string;
    tokens.push(alice);
    expect(alice).toMatch(/^alice\./);
    expect((await cluster.http('us-east', 'PATCH', '/v1/tables/profiles/rows/a1', { set: { name: 'A' } }, bearer(alice))).status).toBe(200);
    const refused = await cluster.http('us-east', 'PATCH', '/v1/tables/accounts/rows/x', { incr: { balance: 5 } }, bearer(alice));
    expect(refused).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect((await cluster.http('us-east', 'GET', '/v1/tables/accounts/rows/x', undefined, root())).status).toBe(404);
    expect((await cluster.http('us-east', 'POST', '/v1/admin/drain', { region: 'ap-south' }, bearer(alice))).status).toBe(403);
    expect((await cluster.http('us-east', 'GET', '/v1/admin/backup', undefined, bearer(alice))).status).toBe(403);
    expect((await cluster.http('us-east', 'PUT', '/v1/users/mallory', { roles: ['writer'] }, bearer(alice))).status).toBe(403);
    expect((await cluster.http('us-east', 'GET', '/v1/whoami', undefined, bearer(alice))).body).toEqual({ user: 'alice', roles: ['writer'], clusterAdmin: false });
    // A wrong secret for a real user is the same 401 as an unknown user.
    const wrong = `alice.${'A'.repeat(43)}`;
    expect((await cluster.http('us-east', 'GET', '/v1/whoami', undefined, bearer(wrong))).body.error.code).toBe('UNAUTHENTICATED');
  }, 60_000);

  it('a user deleted in one region is refused in another once it applied the deletion, and nothing it sent then is written', async () => {
    const made = await cluster.http('us-east', 'PUT', '/v1/users/bob', { roles: ['writer'] }, root());
    const bob = made.body.token as string;
    tokens.push(bob);
    await until('bob works at ap-south', () => cluster.http('ap-south', 'PATCH', '/v1/tables/profiles/rows/b0', { set: { name: 'B' } }, bearer(bob)), (r) => r.status === 200);
    expect((await cluster.http('us-east', 'DELETE', '/v1/users/bob', undefined, root())).body).toMatchObject({ user: 'bob', deleted: true });
    const committed = performance.now();
    let n = 0;
    const last = await until('bob refused at ap-south', () => cluster.http('ap-south', 'PATCH', `/v1/tables/profiles/rows/b${++n}`, { set: { name: 'B' } }, bearer(bob)), (r) => r.status === 401, 10_000);
    expect(last.body.error.code).toBe('UNAUTHENTICATED');
    // Printed, not asserted (a busy machine stretches it): the issue asks for under a second.
    console.log(`revocation: bob's token refused at ap-south ${Math.round(performance.now() - committed)} ms after the deletion committed (round trip us-east/ap-south 40 ms)`);
    await until('the refused row absent everywhere', () => cluster.http('us-east', 'GET', `/v1/tables/profiles/rows/b${n}`, undefined, root()), (r) => r.status === 404);
    expect((await cluster.http('ap-south', 'GET', `/v1/tables/profiles/rows/b${n}`, undefined, root())).status).toBe(404);
  }, 60_000);

  it('snapshots are a cluster admin’s or another node’s (the node secret); tokens appear in no log', async () => {
    expect((await cluster.http('eu-west', 'POST', '/v1/admin/snapshots', {})).status).toBe(401);
    const secret = nodeSecret(loadConfig(cluster.configPath)) as string;
    const byNode = await cluster.http('eu-west', 'POST', '/v1/admin/snapshots', {}, { 'tern-node-auth': secret });
    expect(byNode.status).toBe(201);
    expect((await cluster.http('eu-west', 'POST', '/v1/admin/snapshots', {}, { 'tern-node-auth': 'x'.repeat(43) })).status).toBe(401);
    for (const region of cluster.regions) {
      const text = readFileSync(path.join(cluster.dir, `${region}.log`), 'utf8');
      for (const t of tokens) expect(text).not.toContain(t.split('.')[1]);
      expect(text).not.toContain(secret);
    }
  }, 60_000);
});
