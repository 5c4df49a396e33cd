/** A peer of another cluster is refused at the handshake, and the refusal is logged. */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeFrame, FrameReader } from '../../src/server/transport/frames.js';
import { protocolVersion } from '../../src/server/transport/peer-transport.js';
import { ProcessCluster } from './harness.js';

const c = new ProcessCluster({ regions: ['us-east', 'eu-west'], wan: false, cluster: 'prod' });
beforeAll(() => c.start(), 60_000);
afterAll(() => c.stop(), 60_000);

function handshake(port: number, hello: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const reader = new FrameReader();
    socket.on('connect', () => socket.write(encodeFrame(hello)));
    socket.on('data', (chunk) => {
      const [frame] = reader.push(chunk);
      if (frame !== undefined) {
        socket.destroy();
        resolve(frame);
      }
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error('no answer to the handshake')), 5_000);
  });
}

it('refuses a node that names another cluster, and logs it', async () => {
  const peerPort = c.base + 60; // us-east's peer port in the harness layout
  const answer = await handshake(peerPort, { t: 'hello', cluster: 'staging', region: 'eu-west', node: 'intruder', protocol: protocolVersion });
  expect(answer).toMatchObject({ t: 'refused' });
  expect((answer as { reason: string }).reason).toMatch(/cluster prod, not staging/);
  await c.eventually(async () => readFileSync(path.join(c.dir, 'us-east.log'), 'utf8'), (log) => log.includes('refused a peer link'));
});

/** A raw link welcomed as eu-west: only one link per region is, so this waits for eu-west's own link to be gone. */
async function linkAsEuWest(): Promise<net.Socket> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error('us-east never welcomed a link as eu-west (is the old link still registered?)');
    const socket = net.connect({ host: '127.0.0.1', port: c.base + 60 });
    const reader = new FrameReader();
    const answer = await new Promise<unknown>((resolve, reject) => {
      socket.on('connect', () => socket.write(encodeFrame({ t: 'hello', cluster: 'prod', region: 'eu-west', node: 'eu-west-1', protocol: protocolVersion })));
      socket.on('data', (chunk) => {
        const [frame] = reader.push(chunk);
        if (frame !== undefined) resolve(frame);
      });
      socket.on('error', reject);
    });
    if ((answer as { t: string }).t === 'welcome') return socket;
    socket.destroy();
    await new Promise((r) => setTimeout(r, 50)); // eu-west's link has not closed yet
  }
}

it('drops a link that sends a malformed message, and stays up', async () => {
  await c.kill('eu-west');
  const socket = await linkAsEuWest();
  socket.resume(); // read (and ignore) the rest, so the socket can see its end
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.write(encodeFrame({ t: 'msg', m: { t: 'sync', vector: null, reports: null, beats: null } }));
  await closed;
  const live = await c.http('us-east', 'GET', '/livez');
  expect(live.status).toBe(200);
  await c.eventually(async () => readFileSync(path.join(c.dir, 'us-east.log'), 'utf8'), (log) => log.includes('malformed message'));
});

it('accepts a node of its own cluster, and refuses a second link for the same region', async () => {
  const first = await linkAsEuWest(); // eu-west is down (killed above): the slot frees when a link closes
  const answer = await handshake(c.base + 60, { t: 'hello', cluster: 'prod', region: 'eu-west', node: 'eu-west-1', protocol: protocolVersion });
  expect(answer).toMatchObject({ t: 'refused' });
  first.destroy();
  await c.startNode('eu-west'); // and the real eu-west gets its slot back (stop() could not stop a killed node)
});
