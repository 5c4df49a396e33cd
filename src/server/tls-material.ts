/**
 * A node's (or the router's) TLS material read from the files its configuration names: the
 * cluster CA, and its certificate and key. Read at start and again on SIGHUP (rotation without a restart), and
 * checked before use, so that a bad file is an error naming the field (exit 2 at start; at a
 * reload, a logged refusal that keeps the old material), never a node that cannot talk.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, type ClusterConfig, type RegionSpec } from './config.js';
import type { TlsMaterial } from './transport/sockets.js';
import { nodeIdentityOf } from '../security/identity.js';

/** The node's material, or null when the cluster runs without TLS. Throws ConfigError naming the field at fault. */
export function loadTlsMaterial(config: ClusterConfig, spec: RegionSpec, now = new Date()): TlsMaterial | null {
  const tls = config.tls;
  const mine = spec.node.tls;
  if (tls === null || mine === null) return null;
  const where = `regions[${config.regions.indexOf(spec)}].node.tls`;
  return loadSigned(tls.ca, mine, where, now, (own) => {
    const id = nodeIdentityOf(own.subjectAltName);
    if (id === null || id.cluster !== config.cluster || id.region !== spec.name || id.node !== spec.node.id) {
      throw new ConfigError(`${where}.cert`, `${mine.cert} names ${id === null ? 'no node' : `${id.cluster}/${id.region}/${id.node}`}, not ${config.cluster}/${spec.name}/${spec.node.id}: make one with terndb cert create-node --cluster ${config.cluster} --region ${spec.name} --node ${spec.node.id}`);
    }
  });
}

/**
 * The router's material (router.tls, with the cluster CA), or null when the cluster runs without
 * TLS. A secure cluster's router serves HTTPS: without router.tls it is refused, naming the field.
 */
export function loadRouterTlsMaterial(config: ClusterConfig, now = new Date()): TlsMaterial | null {
  const tls = config.tls;
  if (tls === null) return null;
  const mine = config.router?.tls ?? null;
  if (mine === null) throw new ConfigError('router.tls', 'the cluster has TLS, so its router serves HTTPS: add router: {api, tls: {cert, key}} to the configuration (terndb cert create-router makes them)');
  return loadSigned(tls.ca, mine, 'router.tls', now);
}

/**
 * The CA file and a certificate with its key, checked: the key is the certificate's, one of the
 * file's CAs signed it, `names` accepts whom it names, and it is valid `now`.
 */
function loadSigned(caFile: string, files: { readonly cert: string; readonly key: string }, where: string, now: Date, names: (own: X509Certificate) => void = () => undefined): TlsMaterial {
  const ca = read(caFile, 'tls.ca');
  const cert = read(files.cert, `${where}.cert`);
  const key = read(files.key, `${where}.key`);
  // A CA file may hold several CAs (during a move to a new CA): the certificate must be signed by one.
  const cas = caCerts(ca);
  const own = parse(cert, `${where}.cert`);
  checkKey(own, key, `${where}.key`, files);
  if (!cas.some((c) => own.checkIssued(c) && own.verify(c.publicKey))) throw new ConfigError(`${where}.cert`, `${files.cert} was not signed by the cluster CA ${caFile}`);
  names(own);
  checkDates(own, where, files.cert, now);
  return { ca, cert, key };
}

/** Every CA of a CA file (it may hold several, during a move to a new CA). */
function caCerts(ca: string): X509Certificate[] {
  return (ca.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [ca]).map((pem) => parse(pem, 'tls.ca'));
}

function checkKey(own: X509Certificate, key: string, field: string, files: { readonly cert: string; readonly key: string }): void {
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new ConfigError(field, `${files.key} is not a PEM private key: ${(err as Error).message}`);
  }
  if (!own.checkPrivateKey(privateKey)) throw new ConfigError(field, `${files.key} is not the key of the certificate ${files.cert}`);
}

function checkDates(own: X509Certificate, where: string, file: string, now: Date): void {
  if (new Date(own.validTo) <= now) throw new ConfigError(`${where}.cert`, `${file} expired on ${own.validTo}`);
  if (new Date(own.validFrom) > now) throw new ConfigError(`${where}.cert`, `${file} is not valid before ${own.validFrom}`);
}

function read(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(field, `cannot read ${file}: ${(err as Error).message}`);
  }
}

function parse(pem: string, field: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch (err) {
    throw new ConfigError(field, `not a PEM certificate: ${(err as Error).message}`);
  }
}
