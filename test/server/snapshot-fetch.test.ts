/**
 * Fetching a snapshot (src/server/snapshot/fetch.ts) from a donor that misbehaves: another
 * cluster's copy, a copy behind what is needed, a chunk that fails its checksum, a donor that
 * forgot the copy. Each is refused with a clear error and nothing is left to install; a good copy
 * arrives whole, and a fetch cut short resumes where it stopped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchedName, fetchSnapshot, progressName, SnapshotFetchError } from '../../src/server/snapshot/fetch.js';
import type { SnapshotManifest } from '../../src/server/snapshot/manifest.js';

const chunkBytes = 1024;
const data = Buffer.from(Array.from({ length: 3 * chunkBytes + 100 }, (_, i) => i % 251));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const chunks = [0, 1, 2, 3].map((n) => data.subarray(n * chunkBytes, (n + 1) * chunkBytes));
const manifest: SnapshotManifest = { format: 'terndb-snapshot', version: 1, id: 's1', cluster: 'test', region: 'us-east', node: 'us-east-1', createdAt: 'now', vector: { 'us-east': 5 }, bytes: data.length, chunkBytes, chunks: chunks.map(sha), sha256: sha(data) };

interface Behaviour {
  manifest?: SnapshotManifest;
  /** Chunk numbers served corrupted (every time). */
  corrupt?: Set<number>;
  /** Chunks served before the donor "forgets" the copy (404 from then on). */
  forgetAfter?: number;
  served?: number[];
}

const servers: Server[] = [];
const dirs: string[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function donor(b: Behaviour): Promise<string> {
  const m = b.manifest ?? manifest;
  const server = createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'POST' && url === '/v1/admin/snapshots') return void res.writeHead(201).end(JSON.stringify(m));
    if (url === `/v1/admin/snapshots/${m.id}`) return void (b.forgetAfter !== undefined && (b.served?.length ?? 0) >= b.forgetAfter ? res.writeHead(404).end('{}') : res.writeHead(200).end(JSON.stringify(m)));
    const hit = /\/chunks\/(\d+)$/.exec(url);
    if (hit !== null) {
      const n = Number(hit[1]);
      if (b.forgetAfter !== undefined && (b.served?.length ?? 0) >= b.forgetAfter) return void res.writeHead(404).end('{}');
      b.served?.push(n);
      const body = Buffer.from(chunks[n] as Buffer);
      if (b.corrupt?.has(n)) body[0] = (body[0] as number) ^ 0xff;
      return void res.writeHead(200).end(body);
    }
    res.writeHead(404).end('{}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function dataDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'tern-fetch-'));
  dirs.push(d);
  return d;
}

const options = (dir: string, url: string, extra = {}) => ({ dataDir: dir, cluster: 'test', after: { 'us-east': 3 }, donors: [{ region: 'us-east', url }], chunkAttempts: 2, ...extra });

describe('fetchSnapshot', () => {
  it('fetches a good copy whole, checked chunk by chunk', async () => {
    const dir = dataDir();
    await fetchSnapshot(options(dir, await donor({})));
    expect(readFileSync(path.join(dir, fetchedName)).equals(data)).toBe(true);
    expect(existsSync(path.join(dir, progressName))).toBe(false);
  });

  it('refuses another cluster\u2019s snapshot, and one behind what is needed; nothing is left to install', async () => {
    const dir = dataDir();
    await expect(fetchSnapshot(options(dir, await donor({ manifest: { ...manifest, cluster: 'other' } })))).rejects.toThrow(/snapshot of cluster other, not test/);
    await expect(fetchSnapshot({ ...options(dir, await donor({})), after: { 'us-east': 9 } })).rejects.toThrow(/does not yet hold what the readmission needs/);
    expect(existsSync(path.join(dir, fetchedName))).toBe(false);
  });

  it('refuses a chunk that fails its checksum (after retrying it), keeping what was fetched to resume from', async () => {
    const dir = dataDir();
    const served: number[] = [];
    await expect(fetchSnapshot(options(dir, await donor({ corrupt: new Set([2]), served }), { window: 1 }))).rejects.toThrow(SnapshotFetchError);
    expect(served).toEqual([0, 1, 2, 2]);
    expect(existsSync(path.join(dir, fetchedName))).toBe(false);
    expect((JSON.parse(readFileSync(path.join(dir, progressName), 'utf8')) as { done: number }).done).toBe(2);
  });

  it('resumes from the chunk it stopped at when the donor still holds the copy', async () => {
    const dir = dataDir();
    const served: number[] = [];
    const url = await donor({ corrupt: new Set([3]), served });
    await expect(fetchSnapshot(options(dir, url))).rejects.toThrow(SnapshotFetchError);
    served.length = 0;
    const healed = await donor({ served });
    // Same donor URL recorded: point the progress at the healed one (same copy id and manifest).
    const file = path.join(dir, progressName);
    const p = JSON.parse(readFileSync(file, 'utf8')) as { donor: { region: string; url: string }; done: number };
    expect(p.done).toBe(3);
    writeFileSync(file, JSON.stringify({ ...p, donor: { ...p.donor, url: healed } }));
    await fetchSnapshot(options(dir, healed));
    expect(served).toEqual([3]);
    expect(readFileSync(path.join(dir, fetchedName)).equals(data)).toBe(true);
  });

  it('fetches several chunks at once, and its progress never passes a chunk not yet written', async () => {
    const dir = dataDir();
    const served: number[] = [];
    // Chunk 1 is bad every time; 2 and 3 arrive meanwhile, but progress stops before the gap.
    await expect(fetchSnapshot(options(dir, await donor({ corrupt: new Set([1]), served }), { window: 4 }))).rejects.toThrow(/chunk 1 .* could not be fetched intact/);
    expect(served.slice(0, 4).sort()).toEqual([0, 1, 2, 3]);
    expect((JSON.parse(readFileSync(path.join(dir, progressName), 'utf8')) as { done: number }).done).toBe(1);
    // Resumed: from the gap on (2 and 3 again: they were never counted as kept).
    served.length = 0;
    const healed = await donor({ served });
    const file = path.join(dir, progressName);
    const p = JSON.parse(readFileSync(file, 'utf8')) as { donor: { region: string; url: string } };
    writeFileSync(file, JSON.stringify({ ...p, donor: { ...p.donor, url: healed } }));
    await fetchSnapshot(options(dir, healed, { window: 4 }));
    expect([...served].sort()).toEqual([1, 2, 3]);
    expect(readFileSync(path.join(dir, fetchedName)).equals(data)).toBe(true);
  });

  it('tells the donor what the copy must hold', async () => {
    const dir = dataDir();
    let asked: unknown = null;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        asked = JSON.parse(body);
        res.writeHead(201).end(JSON.stringify({ ...manifest, cluster: 'other' }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    servers.push(server);
    await expect(fetchSnapshot(options(dir, `http://127.0.0.1:${(server.address() as AddressInfo).port}`))).rejects.toThrow(SnapshotFetchError);
    expect(asked).toEqual({ after: { 'us-east': 3 } });
  });

  it('starts over when the donor no longer holds the copy', async () => {
    const dir = dataDir();
    const served: number[] = [];
    await expect(fetchSnapshot(options(dir, await donor({ forgetAfter: 2, served })))).rejects.toThrow(/no longer holds snapshot s1/);
    expect(existsSync(path.join(dir, progressName))).toBe(false);
  });
});
