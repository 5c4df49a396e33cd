/**
 * src/security/certs.ts: certificates verify against their CA with Node's own X.509 code, carry
 * the Tern identities, and work for mutual TLS as Node's TLS stack sees them.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertInputError, createCa, issueClientCert, issueNodeCert, type CertAndKey } from '../../src/security/certs.js';
import { X509Certificate as IdentityCert } from 'node:crypto';
import { clientUserOf, nodeIdentityOf } from '../../src/security/identity.js';

// What the node and the API read of a certificate (security/identity.ts), from PEM or DER.
const nodeIdentity = (cert: string | Buffer) => nodeIdentityOf(new IdentityCert(cert).subjectAltName);
const clientUser = (cert: string | Buffer) => clientUserOf(new IdentityCert(cert).subjectAltName);

const dayMs = 24 * 60 * 60 * 1000;
let ca: CertAndKey;
let otherCa: CertAndKey;
let nodeA: CertAndKey;
let nodeB: CertAndKey;

beforeAll(async () => {
  ca = await createCa({ cluster: 'prod', validDays: 30 });
  otherCa = await createCa({ cluster: 'prod', validDays: 30 });
  nodeA = await issueNodeCert({ ca, cluster: 'prod', region: 'us-east', node: 'us-east-1', hosts: ['127.0.0.1', 'localhost', 'db1.example.com', '::1'], validDays: 10 });
  nodeB = await issueNodeCert({ ca, cluster: 'prod', region: 'eu-west', node: 'eu-west-1', hosts: ['127.0.0.1'], validDays: 10 });
});

describe('createCa', () => {
  it('makes a self-signed P-256 CA named after the cluster, with a PKCS#8 key', () => {
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=Tern CA prod');
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(ca.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(createPrivateKey(ca.keyPem).asymmetricKeyType).toBe('ec');
    const days = (Date.parse(cert.validTo) - Date.now()) / dayMs;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
  });
});

describe('issueNodeCert', () => {
  it('verifies against its CA and not against another CA', () => {
    const leaf = new X509Certificate(nodeA.certPem);
    const root = new X509Certificate(ca.certPem);
    const other = new X509Certificate(otherCa.certPem);
    expect(leaf.ca).toBe(false);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(other.publicKey)).toBe(false);
  });

  it('names the node: CN the node id, a tern:// URI and every host as a DNS name or IP address', () => {
    const leaf = new X509Certificate(nodeA.certPem);
    expect(leaf.subject).toBe('CN=us-east-1');
    expect(leaf.subjectAltName).toBe('URI:tern://prod/us-east/us-east-1, IP Address:127.0.0.1, DNS:localhost, DNS:db1.example.com, IP Address:0:0:0:0:0:0:0:1');
    expect(leaf.checkHost('db1.example.com')).toBe('db1.example.com');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(nodeIdentity(nodeA.certPem)).toEqual({ cluster: 'prod', region: 'us-east', node: 'us-east-1' });
    expect(nodeIdentity(leaf.raw)).toEqual({ cluster: 'prod', region: 'us-east', node: 'us-east-1' });
    expect(clientUser(nodeA.certPem)).toBeNull();
  });

  it('rejects bad input with a typed error naming the field', async () => {
    const base = { ca, cluster: 'prod', region: 'us-east', node: 'n1', hosts: ['localhost'], validDays: 10 };
    const cases: Array<[Partial<typeof base> & { notBefore?: Date; notAfter?: Date }, string]> = [
      [{ region: 'bad name' }, 'region'],
      [{ region: 'user' }, 'region'],
      [{ node: 'a/b' }, 'node'],
      [{ cluster: '' }, 'cluster'],
      [{ hosts: [] }, 'hosts'],
      [{ hosts: ['*.example.com'] }, 'hosts'],
      [{ validDays: 0 }, 'validDays'],
      [{ validDays: 3651 }, 'validDays'],
      [{ validDays: 1.5 }, 'validDays'],
      [{ validDays: 31 }, 'validDays'], // longer than the CA's 30 days
      [{ notBefore: new Date(), notAfter: new Date(Date.now() - 1000) }, 'notAfter'],
      [{ cluster: 'staging' }, 'cluster'],
      [{ ca: { certPem: ca.certPem, keyPem: otherCa.keyPem } }, 'ca'],
      [{ ca: { certPem: 'nope', keyPem: ca.keyPem } }, 'ca'],
      [{ ca: nodeB }, 'ca'],
    ];
    for (const [change, field] of cases) {
      const err = await issueNodeCert({ ...base, ...change }).catch((e: unknown) => e);
      expect(err, JSON.stringify(Object.keys(change))).toBeInstanceOf(CertInputError);
      expect((err as CertInputError).field, JSON.stringify(change)).toBe(field);
    }
    await expect(createCa({ cluster: 'a b', validDays: 1 })).rejects.toThrow(/^cluster: must be 1 to 63 letters/);
  });
});

describe('issueClientCert', () => {
  it('names the user in CN and a tern://<cluster>/user/<user> URI, for client authentication only', async () => {
    const client = await issueClientCert({ ca, cluster: 'prod', user: 'alice', validDays: 5 });
    const leaf = new X509Certificate(client.certPem);
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(leaf.subject).toBe('CN=alice');
    expect(leaf.subjectAltName).toBe('URI:tern://prod/user/alice');
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(clientUser(client.certPem)).toBe('alice');
    expect(nodeIdentity(client.certPem)).toBeNull();
    expect(clientUser(ca.certPem)).toBeNull();
    expect(() => clientUser('not a certificate')).toThrow();
  });
});

describe('mutual TLS with node certificates', () => {
  let server: tls.Server;
  let port: number;
  // The same server, but reporting why it would refuse instead of refusing: the reasons are checked too.
  let inspector: tls.Server;
  let inspectorPort: number;

  beforeAll(async () => {
    server = tls.createServer({ key: nodeA.keyPem, cert: nodeA.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true });
    // Only a verified peer gets here (Node destroys the others); it is told who the server saw.
    server.on('secureConnection', (socket) => {
      const peer = nodeIdentity(socket.getPeerCertificate().raw);
      socket.end(`hello ${peer?.cluster}/${peer?.region}/${peer?.node}`);
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    inspector = tls.createServer({ key: nodeA.keyPem, cert: nodeA.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: false });
    inspector.on('secureConnection', (socket) => socket.end(socket.authorized ? 'authorized' : String(socket.authorizationError)));
    await new Promise<void>((resolve) => inspector.listen(0, '127.0.0.1', resolve));
    inspectorPort = (inspector.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => inspector.close(() => resolve()));
  });

  /** Why the server refuses `client` (or `authorized`). */
  function reason(client: CertAndKey): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: inspectorPort, key: client.keyPem, cert: client.certPem, ca: ca.certPem });
      let data = '';
      socket.on('data', (d: Buffer) => (data += d.toString()));
      socket.on('error', reject);
      socket.on('close', () => resolve(data));
    });
  }

  /**
   * Connects as `client`, trusting the cluster CA, and says what happened. The client finishes its
   * side of the handshake first (TLS 1.3), having checked the server's certificate and its
   * 127.0.0.1 address; the server checks the client's certificate after, and hangs up on a bad one.
   */
  function connect(client: CertAndKey): Promise<string> {
    return new Promise((resolve) => {
      const socket = tls.connect({ host: '127.0.0.1', port, key: client.keyPem, cert: client.certPem, ca: ca.certPem });
      let serverTrusted = false;
      let data = '';
      socket.on('secureConnect', () => (serverTrusted = socket.authorized));
      socket.on('data', (d: Buffer) => (data += d.toString()));
      socket.on('error', () => undefined); // the hang-up; what matters is whether the server answered
      socket.on('close', () => resolve(!serverTrusted ? `client refused the server: ${socket.authorizationError}` : data !== '' ? `accepted, ${data}` : 'refused by the server'));
    });
  }

  it("accepts another node of the cluster's CA, and the server's certificate passes the client's host check", async () => {
    expect(await connect(nodeB)).toBe('accepted, hello prod/eu-west/eu-west-1');
    expect(await reason(nodeB)).toBe('authorized');
  });

  it('refuses a certificate of another CA', async () => {
    const stranger = await issueNodeCert({ ca: otherCa, cluster: 'prod', region: 'eu-west', node: 'eu-west-1', hosts: ['127.0.0.1'], validDays: 10 });
    expect(await connect(stranger)).toBe('refused by the server');
    expect(await reason(stranger)).toMatch(/^(UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY|CERT_SIGNATURE_FAILURE)$/);
  });

  it('refuses an expired certificate and one not yet valid', async () => {
    const now = Date.now();
    const expired = await issueNodeCert({ ca, cluster: 'prod', region: 'eu-west', node: 'eu-west-1', hosts: ['127.0.0.1'], validDays: 1, notBefore: new Date(now - 10 * dayMs), notAfter: new Date(now - dayMs) });
    expect(new X509Certificate(expired.certPem).verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(await connect(expired)).toBe('refused by the server');
    expect(await reason(expired)).toBe('CERT_HAS_EXPIRED');
    const future = await issueNodeCert({ ca, cluster: 'prod', region: 'eu-west', node: 'eu-west-1', hosts: ['127.0.0.1'], validDays: 1, notBefore: new Date(now + dayMs), notAfter: new Date(now + 2 * dayMs) });
    expect(await connect(future)).toBe('refused by the server');
    expect(await reason(future)).toBe('CERT_NOT_YET_VALID');
  });
});
