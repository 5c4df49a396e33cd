/**
 * The peer port's bounds before and after the handshake: connections past peerConnectionsMax are
 * closed before a byte is read, and a welcomed link that goes silent is closed after
 * inboundIdleMsMax (the peer dials again if it lives). Small values through the options.
 */
import net from 'node:net';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader } from '../../../src/server/transport/frames.js';
import { PeerTransport, protocolVersion } from '../../../src/server/transport/peer-transport.js';

const cleanup: Array<() => unknown> = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function listening(options: { peerConnectionsMax?: number; inboundIdleMsMax?: number }) {
  const lines: Array<{ msg: string }> = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const t = new PeerTransport({ cluster: 'c', region: 'a', node: 'a-1', listen: { host: '127.0.0.1', port }, peers: new Map([['b', { host: '127.0.0.1', port: 1 }]]), log, onMessage: () => undefined, ...options });
  await t.start();
  cleanup.push(() => t.stop());
  return { port, lines };
}

/** A raw connection; `closed` resolves when the node closes it. */
function open(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  cleanup.push(() => socket.destroy());
  socket.on('error', () => undefined);
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  let isClosed = false;
  void closed.then(() => (isClosed = true));
  return { socket, closed, isClosed: () => isClosed };
}

describe('the peer port’s connection bounds', () => {
  it('closes connections past peerConnectionsMax at once, and takes new ones when others went', async () => {
    const { port } = await listening({ peerConnectionsMax: 3 });
    const held = [open(port), open(port), open(port)];
    await Promise.all(held.map((c) => new Promise((r) => c.socket.once('connect', r))));
    const extra = [open(port), open(port)];
    await Promise.all(extra.map((c) => c.closed));
    expect(held.map((c) => c.isClosed())).toEqual([false, false, false]);
    held[0]?.socket.destroy();
    await held[0]?.closed;
    // The server has counted the closed one out once a new connection is kept open.
    let kept = false;
    for (let i = 0; i < 100 && !kept; i++) {
      const c = open(port);
      await new Promise((r) => setTimeout(r, 50));
      kept = !c.isClosed();
    }
    expect(kept).toBe(true);
  });

  it('closes a welcomed link that stays silent past inboundIdleMsMax, and says so', async () => {
    const { port, lines } = await listening({ inboundIdleMsMax: 300 });
    const c = open(port);
    const reader = new FrameReader();
    const welcomed = new Promise<string>((resolve) => c.socket.on('data', (chunk: Buffer) => resolve((reader.push(chunk)[0] as { t: string }).t)));
    c.socket.once('connect', () => c.socket.write(encodeFrame({ t: 'hello', cluster: 'c', region: 'b', node: 'b-1', protocol: protocolVersion })));
    expect(await welcomed).toBe('welcome');
    await c.closed;
    expect(lines.some((l) => l.msg.startsWith('closed an inbound peer link silent for too long'))).toBe(true);
  });
});
