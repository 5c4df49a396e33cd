/**
 * The receiver's side of a snapshot (manifest.ts): asks a donor for a copy holding at least the
 * vector it needs, fetches it chunk by chunk into `snapshot.partial` beside the data, checks each
 * chunk's SHA-256 as it arrives (a bad one is fetched again) and the whole file's at the end, and
 * records its progress after each chunk (`snapshot.progress.json`), so a dropped link or a crash
 * resumes where it stopped, as long as the donor still holds the copy; otherwise it starts over.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { dominates, type VersionVector } from '../../core/clock/version-vector.js';
import { digestFrom } from '../backup.js';
import { manifestProblem, type SnapshotManifest } from './manifest.js';
import { nodeLimits } from '../limits.js';

export const partialName = 'snapshot.partial';
export const progressName = 'snapshot.progress.json';
/** A complete, checked snapshot waiting to be prepared and installed (install.ts). */
export const fetchedName = 'snapshot.fetched';

export interface Donor {
  readonly region: string;
  /** The donor's API base URL. */
  readonly url: string;
}

interface Progress {
  readonly donor: Donor;
  readonly manifest: SnapshotManifest;
  /** Chunks written and synced, in order. */
  readonly done: number;
}

export class SnapshotFetchError extends Error {
  override readonly name = 'SnapshotFetchError';
  /** The donor no longer holds the copy: what was fetched of it is discarded. */
  readonly copyGone: boolean;

  constructor(message: string, copyGone = false) {
    super(message);
    this.copyGone = copyGone;
  }
}

export interface FetchOptions {
  readonly dataDir: string;
  readonly cluster: string;
  /** The copy must hold at least this. */
  readonly after: VersionVector;
  /** Donors to ask, best first. */
  readonly donors: readonly Donor[];
  /** Stops the fetch (the node is stopping): it throws, leaving progress to resume from. */
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: { donor: string; done: number; chunks: number; bytes: number }) => void;
  /** Attempts per chunk before the donor is given up (a bad checksum or a failed request each count). */
  readonly chunkAttempts?: number;
  /** Chunks requested at once (default nodeLimits.snapshotChunksInFlight). */
  readonly window?: number;
  /** Sent with every request (the node secret of a cluster that requires authentication); never written to the progress file. */
  readonly headers?: Readonly<Record<string, string>>;
}


async function getJson(url: string, init: RequestInit, signal?: AbortSignal): Promise<{ status: number; body: unknown }> {
  const r = await fetch(url, { ...init, ...(signal !== undefined ? { signal } : {}) });
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // an answer that is not JSON is reported as is
  }
  return { status: r.status, body };
}

/** Why a manifest from `donor` cannot serve this fetch (null: it can). */
function unusable(m: SnapshotManifest, o: FetchOptions): string | null {
  if (m.cluster !== o.cluster) return `it is a snapshot of cluster ${m.cluster}, not ${o.cluster}`;
  if (!dominates(m.vector, o.after)) return 'it does not yet hold what the readmission needs (it is behind); try again shortly';
  return null;
}

async function readProgress(dir: string): Promise<Progress | null> {
  try {
    const p = JSON.parse(await readFile(path.join(dir, progressName), 'utf8')) as Progress;
    return manifestProblem(p.manifest) === null && Number.isSafeInteger(p.done) ? p : null;
  } catch {
    return null;
  }
}

async function writeProgress(dir: string, p: Progress): Promise<void> {
  const tmp = path.join(dir, `${progressName}.tmp`);
  await writeFile(tmp, JSON.stringify(p));
  await rename(tmp, path.join(dir, progressName));
}

/** Forgets a fetch in progress (its copy is gone, or another one is needed). */
export async function discardFetch(dir: string): Promise<void> {
  await rm(path.join(dir, partialName), { force: true });
  await rm(path.join(dir, progressName), { force: true });
}

/** A new copy from the first donor that can make one, with its manifest. */
async function startFetch(o: FetchOptions, problems: string[]): Promise<Progress | null> {
  for (const donor of o.donors) {
    try {
      const r = await getJson(`${donor.url}/v1/admin/snapshots`, { method: 'POST', headers: { 'content-type': 'application/json', ...o.headers }, body: JSON.stringify({ after: o.after }) }, o.signal);
      if (r.status !== 201) {
        problems.push(`${donor.region}: ${r.status} ${JSON.stringify(r.body)}`);
        continue;
      }
      const bad = manifestProblem(r.body);
      if (bad !== null) {
        problems.push(`${donor.region}: a bad manifest (${bad})`);
        continue;
      }
      const manifest = r.body as SnapshotManifest;
      const why = unusable(manifest, o);
      if (why !== null) {
        problems.push(`${donor.region}: ${why}`);
        continue;
      }
      return { donor, manifest, done: 0 };
    } catch (err) {
      if (o.signal?.aborted === true) throw err;
      problems.push(`${donor.region}: ${(err as Error).message}`);
    }
  }
  return null;
}

/**
 * Fetches a snapshot into `snapshot.fetched`, resuming a fetch in progress when its donor still
 * holds the copy. Throws SnapshotFetchError when no donor could serve one (the caller tries again
 * later), or the signal's reason when stopped.
 */
export async function fetchSnapshot(o: FetchOptions): Promise<SnapshotManifest> {
  await mkdir(o.dataDir, { recursive: true });
  const problems: string[] = [];
  let p = await readProgress(o.dataDir);
  if (p !== null) {
    // Resume only with the same copy, from the same donor, and one that still serves this fetch.
    let same = false;
    try {
      const r = await getJson(`${p.donor.url}/v1/admin/snapshots/${encodeURIComponent(p.manifest.id)}`, { headers: { ...o.headers } }, o.signal);
      same = r.status === 200 && JSON.stringify(r.body) === JSON.stringify(p.manifest) && unusable(p.manifest, o) === null;
    } catch (err) {
      if (o.signal?.aborted === true) throw err;
    }
    if (!same || !existsSync(path.join(o.dataDir, partialName))) p = null;
  }
  if (p === null) {
    await discardFetch(o.dataDir);
    p = await startFetch(o, problems);
    if (p === null) throw new SnapshotFetchError(`no region could serve a snapshot: ${problems.join('; ') || 'no donor to ask'}`);
    await writeFile(path.join(o.dataDir, partialName), Buffer.alloc(0));
    await writeProgress(o.dataDir, p);
  }
  const { donor, manifest } = p;
  const fd = await open(path.join(o.dataDir, partialName), 'r+');
  try {
    await fetchChunks(fd, donor, manifest, p.done, o);
    await fd.truncate(manifest.bytes);
    await fd.sync();
  } catch (err) {
    if (err instanceof SnapshotFetchError && err.copyGone) await discardFetch(o.dataDir);
    throw err;
  } finally {
    await fd.close();
  }
  const whole = await digestFrom(path.join(o.dataDir, partialName));
  if (whole !== manifest.sha256) {
    await discardFetch(o.dataDir);
    throw new SnapshotFetchError(`the snapshot from ${donor.region} does not match its checksum (${whole} ≠ ${manifest.sha256}); it was discarded and will be fetched again`);
  }
  await rename(path.join(o.dataDir, partialName), path.join(o.dataDir, fetchedName));
  await writeFile(path.join(o.dataDir, `${fetchedName}.json`), JSON.stringify(manifest));
  await rm(path.join(o.dataDir, progressName), { force: true });
  return manifest;
}

/**
 * Fetches chunks `from`… of the copy into `fd`, `window` at a time. Progress names the chunks
 * written *and synced* without a gap before them, so a crash resumes at the first one that might
 * be missing (chunks past a gap are fetched again: a few MiB at most).
 */
async function fetchChunks(fd: FileHandle, donor: Donor, manifest: SnapshotManifest, from: number, o: FetchOptions): Promise<void> {
  const total = manifest.chunks.length;
  let next = from;
  let done = from;
  let failure: unknown = null;
  const written = new Set<number>();
  // One advance at a time: sync, then record, in order.
  let advancing: Promise<void> = Promise.resolve();
  const advance = (): Promise<void> =>
    (advancing = advancing.then(async () => {
      let upTo = done;
      while (written.has(upTo)) written.delete(upTo++);
      if (upTo === done) return;
      await fd.datasync();
      done = upTo;
      await writeProgress(o.dataDir, { donor, manifest, done });
      o.onProgress?.({ donor: donor.region, done, chunks: total, bytes: manifest.bytes });
    }));
  const worker = async (): Promise<void> => {
    while (failure === null && next < total) {
      const n = next++;
      try {
        const data = await fetchChunk(donor, manifest, n, o);
        if (failure !== null) return;
        await fd.write(data, 0, data.length, n * manifest.chunkBytes);
        written.add(n);
        await advance();
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.window ?? nodeLimits.snapshotChunksInFlight, total - from)) }, worker));
  await advancing;
  if (failure !== null) throw failure;
}

async function fetchChunk(donor: Donor, m: SnapshotManifest, n: number, o: FetchOptions): Promise<Buffer> {
  const attempts = o.chunkAttempts ?? 5;
  let last = '';
  for (let i = 0; i < attempts; i++) {
    try {
      const r = await fetch(`${donor.url}/v1/admin/snapshots/${encodeURIComponent(m.id)}/chunks/${n}`, { headers: { ...o.headers }, ...(o.signal !== undefined ? { signal: o.signal } : {}) });
      if (r.status === 404) throw new SnapshotFetchError(`${donor.region} no longer holds snapshot ${m.id}: fetching a new one`, true);
      const data = Buffer.from(await r.arrayBuffer());
      const digest = createHash('sha256').update(data).digest('hex');
      if (r.status === 200 && digest === m.chunks[n]) return data;
      last = r.status !== 200 ? `${r.status}` : `chunk ${n} failed its checksum (${digest})`;
    } catch (err) {
      if (o.signal?.aborted === true || err instanceof SnapshotFetchError) throw err;
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200 * (i + 1)));
  }
  throw new SnapshotFetchError(`chunk ${n} of the snapshot from ${donor.region} could not be fetched intact (${last}); will try again`);
}
