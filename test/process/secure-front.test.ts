/**
 * A secure cluster's front, as real processes: nodes and the router serve HTTPS with certificates
 * of the cluster CA (plain HTTP gets no answer), the router forwards a client's token and reads
 * the nodes' status with the cluster's node secret (so it learns the strong leader), and a client
 * certificate of the cluster CA authenticates its user: a user that exists, while it exists.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueClientCert } from '../../src/security/certs.js';
import { ProcessCluster } from './harness.js';

const cluster = new ProcessCluster({ tls: true, auth: true, router: true, rttMs: { 'us-east/eu-west': 20, 'us-east/ap-south': 40, 'eu-west/ap-south': 30 } });
const agents: Agent[] = [];

beforeAll(async () => {
  await cluster.start();
}, 120_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  await cluster.stop();
});

const root = () => ({ authorization: `Bearer ${cluster.rootToken}` });
const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms?: number) => cluster.until(what, get, ok, ms);
const certs = (file: string) => readFileSync(path.join(cluster.dir, 'certs', file), 'utf8');

/** A fetch presenting a client certificate (and trusting the cluster CA). */
function withCertificate(pair: { certPem: string; keyPem: string }): (url: string, init?: RequestInit) => Promise<Response> {
  const agent = new Agent({ connect: { ca: [...tls.rootCertificates, certs('ca.crt')], cert: pair.certPem, key: pair.keyPem } });
  agents.push(agent);
  return (url, init = {}) => fetch(url, { ...init, dispatcher: agent } as RequestInit);
}

const caOfCluster = () => ({ certPem: certs('ca.crt'), keyPem: certs('ca.key') });

describe('a secure cluster’s front (real processes)', () => {
  it('the router serves HTTPS, forwards the client’s token, and learns the strong leader with the node secret', async () => {
    expect(cluster.routerUrl).toMatch(/^https:/);
    await expect(fetch(`http://127.0.0.1:${cluster.base + 90}/v1/router/status`)).rejects.toThrow();
    // No token: the region answers 401 and the router passes it on.
    const anon = await fetch(`${cluster.routerUrl}/v1/tables/profiles/rows/r1`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"set":{"name":"x"}}' });
    expect(anon.status).toBe(401);
    const w = await fetch(`${cluster.routerUrl}/v1/tables/profiles/rows/r1`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...root() }, body: '{"set":{"name":"R"}}' });
    expect(w.status).toBe(200);
    await until('the write through the router everywhere', async () => (await cluster.http('ap-south', 'GET', '/v1/tables/profiles/rows/r1', undefined, root())).status, (s) => s === 200);
    // The router reads /v1/status (which needs a caller) with the node secret: it knows the leader.
    const status = await until('the router knows the strong leader', async () => (await (await fetch(`${cluster.routerUrl}/v1/router/status`)).json()) as { leader: string | null }, (s) => s.leader !== null);
    expect(cluster.regions).toContain(status.leader);
    const strong = await fetch(`${cluster.routerUrl}/v1/tables/accounts/rows/a1`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...root() }, body: '{"set":{"balance":5}}' });
    expect(strong.status, await strong.clone().text()).toBe(200);
    // The node secret is not a client's to pass through the router.
    expect((await fetch(`${cluster.routerUrl}/v1/status`, { headers: { 'tern-node-auth': 'guess' } })).status).toBe(401);
  }, 60_000);

  it('a client certificate authenticates its user while the user exists; a token sent with it wins', async () => {
    expect((await cluster.http('us-east', 'PUT', '/v1/roles/profile-writer', { grants: { profiles: ['write'] } }, root())).status).toBe(200);
    expect((await cluster.http('us-east', 'PUT', '/v1/users/carol', { roles: ['profile-writer'] }, root())).status).toBe(200);
    const carol = withCertificate(await issueClientCert({ ca: caOfCluster(), cluster: 'test', user: 'carol', validDays: 1 }));
    const url = (region: string, route: string) => `${cluster.url(region)}${route}`;
    await until('carol known in ap-south', async () => (await carol(url('ap-south', '/v1/whoami'))).status, (s) => s === 200);
    expect(await (await carol(url('ap-south', '/v1/whoami'))).json()).toEqual({ user: 'carol', roles: ['profile-writer'], clusterAdmin: false });
    const write = await carol(url('ap-south', '/v1/tables/profiles/rows/c1'), { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"set":{"name":"C"}}' });
    expect(write.status).toBe(200);
    expect((await carol(url('ap-south', '/v1/tables/accounts/rows/c1'), { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"incr":{"balance":1}}' })).status).toBe(403);
    // A token sent with the certificate decides who the caller is.
    expect(await (await carol(url('ap-south', '/v1/whoami'), { headers: root() })).json()).toMatchObject({ user: 'root' });
    // A certificate of a user that does not exist, or of another CA, authenticates nobody.
    const dave = withCertificate(await issueClientCert({ ca: caOfCluster(), cluster: 'test', user: 'dave', validDays: 1 }));
    expect((await dave(url('us-east', '/v1/whoami'))).status).toBe(401);
    const other = await createCa({ cluster: 'test', validDays: 2 });
    const forged = withCertificate(await issueClientCert({ ca: other, cluster: 'test', user: 'root', validDays: 1 }));
    expect((await forged(url('us-east', '/v1/tables/profiles/rows/c1'))).status).toBe(401);
    // A certificate of root authenticates nobody: root is not in the log, so it could not be revoked.
    const rootCert = withCertificate(await issueClientCert({ ca: caOfCluster(), cluster: 'test', user: 'root', validDays: 1 }));
    expect((await rootCert(url('us-east', '/v1/whoami'))).status).toBe(401);
    // Deleting the user revokes the certificate too, in every region once applied.
    expect((await cluster.http('us-east', 'DELETE', '/v1/users/carol', undefined, root())).status).toBe(200);
    await until('carol’s certificate refused in ap-south', async () => (await carol(url('ap-south', '/v1/whoami'))).status, (s) => s === 401);
    expect((await carol(url('ap-south', '/v1/tables/profiles/rows/c2'), { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"set":{"name":"late"}}' })).status).toBe(401);
    expect((await cluster.http('ap-south', 'GET', '/v1/tables/profiles/rows/c2', undefined, root())).status).toBe(404);
    // The routes any user may call refuse it too (they ask the core whether the user exists).
    expect((await carol(url('ap-south', '/v1/tables'))).status).toBe(401);
  }, 60_000);
});
