/**
 * Peer links under mutual TLS: a link is made only with a certificate the cluster CA signed, valid
 * now, naming this cluster and the region and node the hello claims and the configuration lists.
 * Everything else is refused at the handshake (and logged with the reason); the real links keep
 * working meanwhile.
 */
import net from 'node:net';
import tls from 'node:tls';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeMessage } from '../../../src/core/node/messages.js';
import { createCa, issueNodeCert } from '../../../src/security/certs.js';
import { encodeFrame, FrameReader } from '../../../src/server/transport/frames.js';
import { PeerTransport, protocolVersion } from '../../../src/server/transport/peer-transport.js';
import { tlsSockets, type TlsMaterial } from '../../../src/server/transport/sockets.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

interface Logged {
  readonly msg: string;
  readonly reason?: string;
}

/** A logger that keeps its lines (warn and above) for the test to read. */
function recordingLog() {
  const lines: Logged[] = [];
  const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line) as Logged) });
  return { log, lines };
}

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function until(check: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ping = (id: number): NodeMessage => ({ ch: 'node', m: { t: 'ping', id, info: { stage: 'write-ready', reason: null, rttMs: {} } } });

async function pki() {
  const ca = await createCa({ cluster: 'c1', validDays: 30 });
  const node = (region: string, nodeId: string, over: { ca?: typeof ca; notBefore?: Date; notAfter?: Date } = {}) =>
    issueNodeCert({ ca: over.ca ?? ca, cluster: 'c1', region, node: nodeId, hosts: ['127.0.0.1', 'localhost'], validDays: 10, ...(over.notBefore ? { notBefore: over.notBefore } : {}), ...(over.notAfter ? { notAfter: over.notAfter } : {}) });
  const material = (pair: { certPem: string; keyPem: string }, authority = ca): TlsMaterial => ({ ca: authority.certPem, cert: pair.certPem, key: pair.keyPem });
  return { ca, node, material };
}

/** Region a listening under TLS (peer b configured as node b-1), recording what it receives. */
async function listener(material: TlsMaterial) {
  const { log, lines } = recordingLog();
  const port = await freePort();
  const got: Array<{ from: string; message: NodeMessage }> = [];
  const t = new PeerTransport({
    cluster: 'c1',
    region: 'a',
    node: 'a-1',
    listen: { host: '127.0.0.1', port },
    peers: new Map([['b', { host: '127.0.0.1', port: 1 }]]),
    peerNodes: new Map([['a', 'a-1'], ['b', 'b-1']]),
    sockets: tlsSockets('c1', material, log),
    log,
    onMessage: (from, message) => void got.push({ from, message }),
  });
  await t.start();
  cleanup.push(() => t.stop());
  return { t, port, got, lines };
}

/** A raw TLS client presenting `material`, sending a hello that claims region/node; resolves with what a answered. */
async function dial(port: number, material: TlsMaterial, claim: { region: string; node: string }): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, ca: material.ca, cert: material.cert, key: material.key, checkServerIdentity: () => undefined });
    cleanup.push(() => socket.destroy());
    const reader = new FrameReader();
    socket.once('secureConnect', () => socket.write(encodeFrame({ t: 'hello', cluster: 'c1', region: claim.region, node: claim.node, protocol: protocolVersion })));
    socket.on('data', (chunk: Buffer) => {
      for (const f of reader.push(chunk)) resolve((f as { t: string }).t);
    });
    socket.on('error', (err) => resolve(`error: ${err.message}`));
    socket.on('close', () => resolve('closed'));
  });
}

describe('peer links under mutual TLS', () => {
  it('two nodes with certificates of the cluster CA link up and exchange messages', async () => {
    const { node, material } = await pki();
    const a = await listener(material(await node('a', 'a-1')));
    const { log } = recordingLog();
    const b = new PeerTransport({
      cluster: 'c1',
      region: 'b',
      node: 'b-1',
      listen: { host: '127.0.0.1', port: await freePort() },
      peers: new Map([['a', { host: '127.0.0.1', port: a.port }]]),
      peerNodes: new Map([['a', 'a-1'], ['b', 'b-1']]),
      sockets: tlsSockets('c1', material(await node('b', 'b-1')), log),
      log,
      onMessage: () => undefined,
    });
    await b.start();
    cleanup.push(() => b.stop());
    await until(() => b.stats()['a']?.connected === true, 'b linked to a');
    b.send('a', ping(1));
    await until(() => a.got.length > 0, 'a received b’s ping');
    expect(a.got[0]).toMatchObject({ from: 'b', message: ping(1) });
  });

  it('refuses another CA, an expired or not yet valid certificate, a plaintext peer, a certificate of another region or node, each with its reason', async () => {
    const { ca, node, material } = await pki();
    const a = await listener(material(await node('a', 'a-1')));
    const otherCa = await createCa({ cluster: 'c1', validDays: 30 });
    const day = 24 * 3600 * 1000;
    const expired = await node('b', 'b-1', { notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
    const early = await node('b', 'b-1', { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 10 * day) });
    // Refused by the TLS handshake itself: the socket closes before any frame.
    for (const [what, m] of [
      ['another CA', material(await node('b', 'b-1', { ca: otherCa }), ca)],
      ['expired', material(expired)],
      ['not yet valid', material(early)],
    ] as const) {
      expect(await dial(a.port, m, { region: 'b', node: 'b-1' }), what).not.toBe('welcome');
    }
    // A plaintext peer never gets past the handshake either.
    const plain = await new Promise<string>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port: a.port }, () => s.write(encodeFrame({ t: 'hello', cluster: 'c1', region: 'b', node: 'b-1', protocol: protocolVersion })));
      cleanup.push(() => s.destroy());
      s.on('data', () => resolve('answered'));
      s.on('error', () => resolve('closed'));
      s.on('close', () => resolve('closed'));
    });
    expect(plain).toBe('closed');
    await until(() => a.lines.filter((l) => l.msg === 'refused a peer link at the TLS handshake').length >= 4, 'four handshake refusals logged');
    // Signed by the CA, but naming another region than the hello claims, or a node the configuration does not list.
    expect(await dial(a.port, material(await node('c', 'c-1')), { region: 'b', node: 'b-1' })).toBe('refused');
    expect(await dial(a.port, material(await node('b', 'b-2')), { region: 'b', node: 'b-2' })).toBe('refused');
    expect(a.t.refusedInbound).toBeGreaterThanOrEqual(2);
    expect(a.got).toEqual([]);
    // The real b still gets in.
    expect(await dial(a.port, material(await node('b', 'b-1')), { region: 'b', node: 'b-1' })).toBe('welcome');
  });

  it('takes new certificates on reload for links made from then on; a key that does not match is refused and the old ones stay', async () => {
    const { ca, node, material } = await pki();
    const first = await node('a', 'a-1');
    const a = await listener(material(first));
    const fingerprint = (port: number) =>
      new Promise<string>((resolve) => {
        const b = material(first);
        const s = tls.connect({ host: '127.0.0.1', port, ca: b.ca, cert: b.cert, key: b.key, checkServerIdentity: () => undefined }, () => {
          resolve(s.getPeerX509Certificate()?.fingerprint256 ?? '');
          s.destroy();
        });
      });
    const before = await fingerprint(a.port);
    const second = await node('a', 'a-1');
    const mismatched = { ca: ca.certPem, cert: second.certPem, key: first.keyPem };
    expect(() => a.t.reloadTls(mismatched)).toThrow();
    expect(await fingerprint(a.port)).toBe(before);
    a.t.reloadTls(material(second));
    expect(await fingerprint(a.port)).not.toBe(before);
  });
});
