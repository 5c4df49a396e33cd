/**
 * One peer per region: while eu-west's real link to us-east is up, a second socket that sends a
 * valid hello naming eu-west (and eu-west's node id) is refused and logged, and the forged clock
 * probes it sends anyway (a wall clock a minute ahead) never reach us-east's core: us-east stays
 * write-ready and keeps taking writes.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { encodeFrame, FrameReader } from '../../src/server/transport/frames.js';
import { protocolVersion } from '../../src/server/transport/peer-transport.js';
import { ProcessCluster } from './harness.js';

const c = new ProcessCluster({ wan: false });
const impostors: Impostor[] = [];

interface ClusterFile {
  cluster: string;
  regions: Array<{ name: string; node: { id: string; peer: string } }>;
}

interface Impostor {
  readonly socket: net.Socket;
  /** The first frame the node answered with. */
  readonly answer: Promise<unknown>;
}

beforeAll(async () => {
  await c.start();
  await c.eventually(
    () => Promise.all(c.regions.map((r) => c.http(r, 'GET', '/readyz'))),
    (rs) => rs.every((r) => r.status === 200),
    30_000,
  );
}, 60_000);

afterAll(async () => {
  for (const i of impostors) i.socket.destroy();
  await c.stop();
}, 60_000);

function clusterFile(): ClusterFile {
  return JSON.parse(readFileSync(c.configPath, 'utf8')) as ClusterFile;
}

/** A raw peer connection to `port` that says hello as `region`; kept half-open so it can go on writing after a refusal. */
function impostor(port: number, hello: unknown): Impostor {
  const socket = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  socket.on('error', () => undefined); // the node may drop it; writes after that just fail
  const reader = new FrameReader();
  const answer = new Promise<unknown>((resolve, reject) => {
    socket.on('connect', () => socket.write(encodeFrame(hello)));
    socket.on('data', (chunk: Buffer) => {
      const [frame] = reader.push(chunk);
      if (frame !== undefined) resolve(frame);
    });
    socket.on('close', () => reject(new Error('closed without an answer to the hello')));
    setTimeout(() => reject(new Error('no answer to the hello')), 5_000);
  });
  answer.catch(() => undefined); // asserted in the test; never an unhandled rejection
  const i = { socket, answer };
  impostors.push(i);
  return i;
}

/** A forged answer to probe `id`: eu-west's clocks a minute ahead of ours, and eu-west write-ready. */
function forgedPong(id: number): Buffer {
  const aheadMs = Date.now() + 60_000;
  return encodeFrame({ t: 'node', m: { t: 'pong', id, wallMs: aheadMs, steadyMs: aheadMs, info: { stage: 'write-ready', reason: null, rttMs: {} } } });
}

/** Sends forged pongs for every probe id from 1 to 200 on each socket still writable, every 10 ms for `durationMs`. */
async function sprayForgedPongs(sockets: readonly net.Socket[], durationMs: number): Promise<number> {
  let sent = 0;
  const until = Date.now() + durationMs;
  while (Date.now() < until) {
    for (const s of sockets) {
      if (s.destroyed || !s.writable) continue;
      for (let id = 1; id <= 200; id++) s.write(forgedPong(id));
      sent += 200;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return sent;
}

it('refuses a second link claiming a region that is already connected', async () => {
  const config = clusterFile();
  const usEast = config.regions.find((r) => r.name === 'us-east');
  const euWest = config.regions.find((r) => r.name === 'eu-west');
  if (usEast === undefined || euWest === undefined) throw new Error('us-east or eu-west missing from the cluster file');
  const peerPort = Number(usEast.node.peer.split(':')[1]);
  const hello = { t: 'hello', cluster: config.cluster, region: 'eu-west', node: euWest.node.id, protocol: protocolVersion };
  const answers = await Promise.all([impostor(peerPort, hello), impostor(peerPort, hello)].map((i) => i.answer));
  for (const answer of answers) {
    expect(answer).toMatchObject({ t: 'refused' });
    expect((answer as { reason: string }).reason).toMatch(/eu-west is already connected/);
  }
});

it('forged clock probes from those sockets change nothing: us-east stays write-ready and takes writes', async () => {
  expect(impostors).toHaveLength(2);
  const sent = await sprayForgedPongs(
    impostors.map((i) => i.socket),
    2_000,
  );
  expect(sent).toBeGreaterThan(0); // the attack was at least attempted
  // Still write-ready at every look over 3 s (a fence would show within one probe interval).
  const until = Date.now() + 3_000;
  while (Date.now() < until) {
    expect((await c.http('us-east', 'GET', '/readyz')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 200));
  }
  for (let i = 0; i < 20; i++) {
    const w = await c.http('us-east', 'PATCH', `/v1/tables/profiles/rows/k${i}`, { set: { name: 'x' } });
    expect(w.status, JSON.stringify(w.body)).toBe(200);
  }
  // The real eu-west link still carries replication.
  await c.eventually(
    () => c.http('eu-west', 'GET', '/v1/tables/profiles/rows/k19'),
    (r) => r.status === 200 && r.body.fields?.name === 'x',
  );
});

it('logs a warning for the refused link, with the remote address, the claimed region and the reason', async () => {
  const lines = await c.eventually(
    async () => c.logLines('us-east'),
    (ls) => ls.some((l) => l['msg'] === 'refused a peer link' && String(l['reason']).includes('already connected')),
  );
  const line = lines.find((l) => l['msg'] === 'refused a peer link' && String(l['reason']).includes('already connected')) as Record<string, unknown>;
  expect(line['level']).toBe(40); // pino's warn
  expect(line['region']).toBe('eu-west');
  expect(String(line['remote'])).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(String(line['reason'])).toMatch(/^region eu-west is already connected from 127\.0\.0\.1:\d+$/);
});
