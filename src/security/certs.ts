/**
 * Certificates of a secure cluster: a cluster CA, node certificates (peer links use mutual TLS,
 * and the same certificate serves the node's API) and client certificates. Pure functions over
 * PEM strings; keys are ECDSA P-256 in PKCS#8 PEM.
 *
 * Identities live in URI subject alternative names: `tern://<cluster>/<region>/<node>` for a node,
 * `tern://<cluster>/user/<user>` for a client (whose common name is the user too).
 */
// @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect metadata API
// installed before the library is evaluated: this import must stay first.
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto, X509Certificate as NodeX509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CertInputError, checkName, checkRegion, parseHost, reservedRegion, validDaysProblem } from './names.js';

export { CertInputError } from './names.js';

/** A certificate and its private key, both PEM. */
export interface CertAndKey {
  certPem: string;
  keyPem: string;
}

/** Validity: `validDays` from now, unless tests override either end (to make expired or future certificates). */
export interface Validity {
  validDays: number;
  notBefore?: Date;
  notAfter?: Date;
}


type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// Passed explicitly so that the library does not depend on a global `crypto` being present.
const crypto = webcrypto;
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signing = { name: 'ECDSA', hash: 'SHA-256' } as const;
const dayMs = 24 * 60 * 60 * 1000;
// Certificates start a little in the past: a peer whose clock is slightly behind must not find a fresh one not yet valid.
const backdateMs = 5 * 60 * 1000;
const caPrefix = 'Tern CA ';

function validity(v: Validity): { notBefore: Date; notAfter: Date } {
  const days = validDaysProblem(v.validDays);
  if (days !== null) throw new CertInputError('validDays', days);
  for (const [field, d] of [['notBefore', v.notBefore], ['notAfter', v.notAfter]] as const) {
    if (d !== undefined && !(d instanceof Date && Number.isFinite(d.getTime()))) throw new CertInputError(field, 'must be a valid Date');
  }
  const now = Date.now();
  const notBefore = v.notBefore ?? new Date(now - backdateMs);
  const notAfter = v.notAfter ?? new Date((v.notBefore?.getTime() ?? now) + v.validDays * dayMs);
  if (notAfter.getTime() <= notBefore.getTime()) throw new CertInputError('notAfter', `must be after notBefore (${notBefore.toISOString()})`);
  return { notBefore, notAfter };
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
}

async function keyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

/** A cluster CA: self-signed, may sign leaf certificates only (path length 0). */
export async function createCa(params: { cluster: string } & Validity): Promise<CertAndKey> {
  checkName('cluster', params.cluster);
  const dates = validity(params);
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: [{ CN: [`${caPrefix}${params.cluster}`] }],
      keys,
      ...dates,
      signingAlgorithm: signing,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

interface LoadedCa {
  cert: x509.X509Certificate;
  key: CryptoKey;
}

/** Parses and checks the CA: a CA certificate, the key that matches it, and (for a Tern CA) the same cluster. */
async function loadCa(ca: CertAndKey, cluster: string): Promise<LoadedCa> {
  let cert: x509.X509Certificate;
  let node: NodeX509Certificate;
  try {
    cert = new x509.X509Certificate(ca.certPem);
    node = new NodeX509Certificate(ca.certPem);
  } catch (err) {
    throw new CertInputError('ca', `the CA certificate is not a PEM certificate (${(err as Error).message})`);
  }
  if (!node.ca) throw new CertInputError('ca', `${cert.subject} is not a CA certificate (no basicConstraints CA:TRUE)`);
  let der: Buffer;
  try {
    const key = createPrivateKey(ca.keyPem);
    const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
    if (!spki.equals(node.publicKey.export({ type: 'spki', format: 'der' }))) throw new CertInputError('ca', 'the CA key does not belong to the CA certificate; give the ca.key written with this ca.crt');
    der = key.export({ type: 'pkcs8', format: 'der' });
  } catch (err) {
    if (err instanceof CertInputError) throw err;
    throw new CertInputError('ca', `the CA key is not a PEM private key (${(err as Error).message})`);
  }
  const cn = cert.subjectName.getField('CN')[0] ?? '';
  if (cn.startsWith(caPrefix) && cn !== `${caPrefix}${cluster}`) {
    throw new CertInputError('cluster', `the CA is "${cn}", not the CA of cluster ${cluster}; use that cluster's CA or create one`);
  }
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey('pkcs8', der, ecdsa, false, ['sign']);
  } catch {
    throw new CertInputError('ca', 'the CA key must be an ECDSA P-256 key, as createCa makes');
  }
  return { cert, key };
}

/** A leaf certificate signed by the CA, with a fresh key. */
async function issue(ca: LoadedCa, commonName: string, dates: { notBefore: Date; notAfter: Date }, sans: x509.JsonGeneralNames, usages: x509.ExtendedKeyUsage[]): Promise<CertAndKey> {
  // TLS stops trusting a certificate when its CA expires: one that claims to outlive it would mislead.
  if (dates.notAfter.getTime() > ca.cert.notAfter.getTime()) {
    const left = Math.floor((ca.cert.notAfter.getTime() - Date.now()) / dayMs);
    throw new CertInputError('validDays', `the CA expires on ${ca.cert.notAfter.toISOString()}; ask for at most ${left} days, or renew the CA first`);
  }
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.create(
    {
      subject: [{ CN: [commonName] }],
      issuer: ca.cert.subjectName,
      publicKey: keys.publicKey,
      signingKey: ca.key,
      ...dates,
      signingAlgorithm: signing,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension(usages, false),
        new x509.SubjectAlternativeNameExtension(sans, false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

/** A DNS name or IP address subject alternative name per host, each once; at least one host. */
function hostNames(hosts: readonly string[], what: string): x509.JsonGeneralNames {
  if (hosts.length === 0) throw new CertInputError('hosts', `give at least one host name or IP address the ${what} is reached at`);
  const sans: x509.JsonGeneralNames = [];
  for (const host of hosts) {
    const parsed = parseHost(host);
    if (parsed === null) throw new CertInputError('hosts', `${JSON.stringify(host)} is neither an IP address nor a DNS name`);
    if (!sans.some((s) => s.type === parsed.kind && s.value === parsed.value)) sans.push({ type: parsed.kind, value: parsed.value });
  }
  return sans;
}

/**
 * A node's certificate: common name the node id; SANs `tern://<cluster>/<region>/<node>` and a
 * DNS name or IP address for each host, so one certificate serves the API and the peer port, as
 * server and as client of its peers.
 */
export async function issueNodeCert(params: { ca: CertAndKey; cluster: string; region: string; node: string; hosts: readonly string[] } & Validity): Promise<CertAndKey> {
  checkName('cluster', params.cluster);
  checkRegion(params.region);
  checkName('node', params.node);
  const sans: x509.JsonGeneralNames = [{ type: 'url', value: `tern://${params.cluster}/${params.region}/${params.node}` }, ...hostNames(params.hosts, 'node')];
  const dates = validity(params);
  const ca = await loadCa(params.ca, params.cluster);
  return issue(ca, params.node, dates, sans, [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
}

/**
 * A router's certificate: common name the router's name, a DNS name or IP address per host, server
 * authentication only. It names no Tern identity: a router is neither a peer nor a user (it
 * forwards its clients' tokens, and reads a node's status with the node secret of the cluster file).
 */
export async function issueRouterCert(params: { ca: CertAndKey; cluster: string; name: string; hosts: readonly string[] } & Validity): Promise<CertAndKey> {
  checkName('cluster', params.cluster);
  checkName('name', params.name);
  const sans = hostNames(params.hosts, 'router');
  const dates = validity(params);
  const ca = await loadCa(params.ca, params.cluster);
  return issue(ca, params.name, dates, sans, [x509.ExtendedKeyUsage.serverAuth]);
}

/** A client's certificate: common name the user, SAN `tern://<cluster>/user/<user>`, client authentication only. */
export async function issueClientCert(params: { ca: CertAndKey; cluster: string; user: string } & Validity): Promise<CertAndKey> {
  checkName('cluster', params.cluster);
  checkName('user', params.user);
  const dates = validity(params);
  const ca = await loadCa(params.ca, params.cluster);
  return issue(ca, params.user, dates, [{ type: 'url', value: `tern://${params.cluster}/${reservedRegion}/${params.user}` }], [x509.ExtendedKeyUsage.clientAuth]);
}
