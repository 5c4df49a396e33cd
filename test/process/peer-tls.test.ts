/**
 * A cluster whose regions talk over mutual TLS, as real processes: writes replicate through the
 * WAN emulator; a peer with another CA's certificate and a plaintext peer are refused at the
 * handshake and logged while the cluster keeps working; SIGHUP loads new certificates (and keeps
 * the old ones when the new files are bad); a malformed certificate in the configuration stops
 * the node at start with exit 2 naming the field; no private key appears in any log.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueNodeCert } from '../../src/security/certs.js';
import { encodeFrame } from '../../src/server/transport/frames.js';
import { protocolVersion } from '../../src/server/transport/peer-transport.js';
import { ProcessCluster, terndb } from './harness.js';

const cluster = new ProcessCluster({ tls: true, rttMs: { 'us-east/eu-west': 20, 'us-east/ap-south': 40, 'eu-west/ap-south': 30 } });

beforeAll(async () => {
  await cluster.start();
}, 120_000);

afterAll(async () => {
  await cluster.stop();
});

const until = <T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms?: number) => cluster.until(what, get, ok, ms);

const certs = (file: string) => path.join(cluster.dir, 'certs', file);
const peerPort = (region: string) => cluster.base + 60 + cluster.regions.indexOf(region);
const messages = (region: string) => cluster.logLines(region).map((l) => String(l['msg']));

/** The fingerprint of the certificate a node's peer port (or, with `port`, another port of it) shows now (a new connection's view). */
function peerFingerprint(region: string, port = peerPort(region)): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect(
      { host: '127.0.0.1', port, ca: readFileSync(certs('ca.crt')), cert: readFileSync(certs('eu-west-1.crt')), key: readFileSync(certs('eu-west-1.key')), checkServerIdentity: () => undefined },
      () => {
        resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
        s.destroy();
      },
    );
    s.on('error', reject);
  });
}

describe('mutual TLS between regions (real processes)', () => {
  it('replicates writes over TLS links', async () => {
    const w = await cluster.http('us-east', 'PATCH', '/v1/tables/profiles/rows/alice', { set: { name: 'Alice' } });
    expect(w.status).toBe(200);
    await until('alice at ap-south', () => cluster.http('ap-south', 'GET', '/v1/tables/profiles/rows/alice'), (r) => r.status === 200 && r.body.fields.name === 'Alice');
    const status = await cluster.http('eu-west', 'GET', '/v1/status');
    expect(status.body.peers.every((p: { reachable: boolean }) => p.reachable)).toBe(true);
    // The client API serves HTTPS (tls.api): plain HTTP gets no answer.
    expect(cluster.url('us-east')).toMatch(/^https:/);
    await expect(fetch(`http://127.0.0.1:${cluster.apiPort('us-east')}/readyz`)).rejects.toThrow();
  }, 60_000);

  it('refuses a peer with another CA’s certificate and a plaintext peer, logs why, and keeps working', async () => {
    const other = await createCa({ cluster: 'test', validDays: 3 });
    const impostor = await issueNodeCert({ ca: other, cluster: 'test', region: 'us-east', node: 'us-east-1', hosts: ['127.0.0.1'], validDays: 2 });
    const outcome = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: peerPort('eu-west'), ca: readFileSync(certs('ca.crt')), cert: impostor.certPem, key: impostor.keyPem, checkServerIdentity: () => undefined }, () =>
        s.write(encodeFrame({ t: 'hello', cluster: 'test', region: 'us-east', node: 'us-east-1', protocol: protocolVersion })),
      );
      s.on('data', () => resolve('answered'));
      s.on('error', () => resolve('refused'));
      s.on('close', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
    const plain = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: peerPort('eu-west') }, () => s.write(encodeFrame({ t: 'hello', cluster: 'test', region: 'us-east', node: 'us-east-1', protocol: protocolVersion })));
      s.on('data', () => resolve('answered'));
      s.on('error', () => resolve('refused'));
      s.on('close', () => resolve('refused'));
    });
    expect(plain).toBe('refused');
    await until('two refusals in eu-west’s log', async () => messages('eu-west').filter((m) => m === 'refused a peer link at the TLS handshake').length, (n) => n >= 2);
    const w = await cluster.http('eu-west', 'PATCH', '/v1/tables/profiles/rows/bob', { set: { name: 'Bob' } });
    expect(w.status).toBe(200);
    await until('bob at us-east', () => cluster.http('us-east', 'GET', '/v1/tables/profiles/rows/bob'), (r) => r.status === 200);
  }, 60_000);

  it('SIGHUP loads new certificates for new links, and keeps the old ones when the new files are bad', async () => {
    const before = await peerFingerprint('us-east');
    const apiBefore = await peerFingerprint('us-east', cluster.apiPort('us-east'));
    const ca = { certPem: readFileSync(certs('ca.crt'), 'utf8'), keyPem: readFileSync(certs('ca.key'), 'utf8') };
    const next = await issueNodeCert({ ca, cluster: 'test', region: 'us-east', node: 'us-east-1', hosts: ['127.0.0.1', 'localhost'], validDays: 2 });
    writeFileSync(certs('us-east-1.crt'), next.certPem);
    writeFileSync(certs('us-east-1.key'), next.keyPem, { mode: 0o600 });
    cluster.signal('us-east', 'SIGHUP');
    await until('the reload logged', async () => messages('us-east').filter((m) => m.startsWith('SIGHUP: reloaded')).length, (n) => n === 1);
    const after = await peerFingerprint('us-east');
    expect(after).not.toBe(before);
    // The API serves the new certificate to new connections too.
    expect(await peerFingerprint('us-east', cluster.apiPort('us-east'))).not.toBe(apiBefore);
    // A key that is not the certificate's: refused, logged, the certificates in use stay.
    writeFileSync(certs('us-east-1.key'), ca.keyPem, { mode: 0o600 });
    cluster.signal('us-east', 'SIGHUP');
    await until('the refusal logged', async () => messages('us-east').filter((m) => m.startsWith('SIGHUP: the TLS certificates did not load')).length, (n) => n === 1);
    expect(await peerFingerprint('us-east')).toBe(after);
    writeFileSync(certs('us-east-1.key'), next.keyPem, { mode: 0o600 });
    const w = await cluster.http('us-east', 'PATCH', '/v1/tables/profiles/rows/carol', { set: { name: 'Carol' } });
    expect(w.status).toBe(200);
  }, 60_000);

  it('a malformed certificate in the configuration: exit 2 naming the field; no private key in any log', async () => {
    const config = JSON.parse(readFileSync(cluster.configPath, 'utf8'));
    writeFileSync(certs('broken.crt'), '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n');
    config.regions[1].node.tls.cert = 'certs/broken.crt';
    const bad = path.join(cluster.dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(config));
    const r = await terndb(['node', '--config', bad, '--node', 'eu-west'], '', cluster.dir);
    expect(r.code).toBe(2);
    expect(r.err).toContain('regions[1].node.tls.cert');
    for (const region of cluster.regions) {
      const text = readFileSync(path.join(cluster.dir, `${region}.log`), 'utf8');
      expect(text).not.toContain('PRIVATE KEY');
    }
  }, 60_000);
});
