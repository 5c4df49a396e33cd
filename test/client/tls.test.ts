/**
 * The SDK's `ca`, `cert` and `key` options, against a real HTTPS server playing a Tern node: its
 * certificate signed by a private cluster CA, asking for (not requiring) a client certificate.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connect, TernClientError, type Client } from '../../src/client/index.js';
import { createCa, issueClientCert, issueNodeCert, type CertAndKey } from '../../src/security/certs.js';

interface Seen {
  readonly path: string;
  /** The client presented a certificate. */
  readonly presented: boolean;
  /** ... that the CA signed (meaningful only when presented: Node reports true on a resumed TLS session without one). */
  readonly authorized: boolean;
  /** Its subjectAltName ('' when none). */
  readonly san: string;
}

let ca: CertAndKey;
let nodeCert: CertAndKey;
let client: CertAndKey;
let server: https.Server;
let base: string;
const seen: Seen[] = [];
const sockets: TLSSocket[] = [];
const clients: Client[] = [];

const open = (options: Omit<Parameters<typeof connect>[0], 'regions'>): Client => {
  const db = connect({ regions: [base], probeIntervalMs: 0, deadlineMs: 5_000, timeoutMs: 5_000, ...options });
  clients.push(db);
  return db;
};

beforeAll(async () => {
  ca = await createCa({ cluster: 'c1', validDays: 30 });
  nodeCert = await issueNodeCert({ ca, cluster: 'c1', region: 'r1', node: 'n1', hosts: ['127.0.0.1'], validDays: 10 });
  client = await issueClientCert({ ca, cluster: 'c1', user: 'alice', validDays: 10 });
  server = https.createServer({ cert: nodeCert.certPem, key: nodeCert.keyPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const peer = socket.getPeerCertificate();
    seen.push({ path: req.url ?? '', presented: peer !== null && Object.keys(peer).length > 0, authorized: socket.authorized, san: peer?.subjectaltname ?? '' });
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'tern-region': 'r1' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/readyz') return send(200, { cluster: 'c1', region: 'r1', node: 'n1', stage: 'write-ready', reason: null, lagMs: 0 });
    if (req.method === 'GET' && req.url === '/livez') return send(200, { status: 'ok', cluster: 'c1', region: 'r1', node: 'n1' });
    if (req.method === 'GET' && req.url === '/v1/tables/t/rows/k') return send(200, { key: 'k', fields: { a: 1 }, version: 'x' });
    return send(404, { error: { code: 'NOT_FOUND', message: 'no such route', retryable: false } });
  });
  server.on('secureConnection', (socket: TLSSocket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  for (const db of clients.splice(0)) db.close();
  seen.length = 0;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('the ca, cert and key options', () => {
  it('with ca, reads rows over HTTPS from a node whose certificate the cluster CA signed, presenting no client certificate', async () => {
    const before = sockets.length;
    const db = open({ ca: ca.certPem });
    expect(await db.table('t').get('k')).toEqual({ key: 'k', fields: { a: 1 }, version: 'x' });
    expect(await db.table('t').get('k')).toEqual({ key: 'k', fields: { a: 1 }, version: 'x' });
    expect(db.health()[0]?.region).toBe('r1');
    // No client certificate was presented.
    expect(seen.map(({ path, presented, san }) => ({ path, presented, san }))).toEqual([
      { path: '/v1/tables/t/rows/k', presented: false, san: '' },
      { path: '/v1/tables/t/rows/k', presented: false, san: '' },
    ]);
    // Over one connection or two (undici's pool may open a second while the first is released).
    expect(sockets.length - before).toBeGreaterThanOrEqual(1);
  });

  it('takes ca as an array too, and probes /readyz through the same Agent', async () => {
    const other = await createCa({ cluster: 'c1', validDays: 30 });
    const db = connect({ regions: [base], probeIntervalMs: 60_000, deadlineMs: 5_000, ca: [other.certPem, ca.certPem] });
    clients.push(db);
    expect(await db.table('t').get('k')).toMatchObject({ key: 'k' });
    await expect.poll(() => db.health()[0]?.stage).toBe('write-ready');
    expect(db.health()[0]?.cluster).toBe('c1');
  });

  it('without ca, the node is not trusted: the call fails with UNREACHABLE and the server sees no request', async () => {
    const db = open({ maxAttempts: 1, deadlineMs: 3_000 });
    const err = await db.table('t').get('k').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TernClientError);
    expect(err).toMatchObject({ code: 'UNREACHABLE', status: 0, region: null });
    expect(seen).toEqual([]);
  });

  it('with cert and key, presents the client certificate: the node sees URI:tern://c1/user/alice, signed by its CA', async () => {
    const db = open({ ca: ca.certPem, cert: client.certPem, key: client.keyPem });
    expect(await db.table('t').get('k')).toMatchObject({ key: 'k', fields: { a: 1 } });
    expect(seen).toHaveLength(1);
    expect(seen[0]?.presented).toBe(true);
    expect(seen[0]?.authorized).toBe(true);
    expect(seen[0]?.san).toContain('URI:tern://c1/user/alice');
  });

  it('close() closes the connections of the Agent; a later call opens another', async () => {
    const before = sockets.length;
    const db = open({ ca: ca.certPem });
    await db.table('t').get('k');
    const socket = sockets[sockets.length - 1] as TLSSocket;
    expect(sockets.length - before).toBe(1);
    const closed = new Promise<void>((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
    db.close();
    await closed;
    expect(await db.table('t').get('k')).toMatchObject({ key: 'k' });
    expect(sockets.length - before).toBe(2);
  });

  it('refuses cert without key (and key without cert), a bad ca, and a custom fetch with any of them, naming the option', () => {
    const regions = ['https://a.test'];
    const refused = (f: () => unknown, field: string) => {
      let err: unknown;
      try {
        f();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TernClientError);
      expect(err).toMatchObject({ code: 'BAD_REQUEST', status: 400, retryable: false, field });
      expect((err as Error).message).toContain(field);
    };
    refused(() => connect({ regions, cert: 'PEM' }), 'key');
    refused(() => connect({ regions, ca: 'PEM', key: 'PEM' }), 'cert');
    refused(() => connect({ regions, ca: [1 as unknown as string] }), 'ca');
    refused(() => connect({ regions, ca: 'PEM', fetch: globalThis.fetch }), 'fetch');
    refused(() => connect({ regions, cert: 'PEM', key: 'PEM', fetch: globalThis.fetch }), 'fetch');
  });
});
