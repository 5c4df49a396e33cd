/**
 * A region node's rejoin after an eviction (docs/internals/replication.md, "Bounded history"):
 * when the region core says it wants a snapshot (RegionCore.snapshotWanted: its readmission has
 * every member's acknowledgement), fetch one from the nearest healthy member (fetch.ts), keep the
 * region's orphaned writes from the old store, prepare the copy (install.ts), and have the node swap
 * stores. One attempt at a time; a failed one is tried again after a pause, resuming its fetch.
 *
 * `TERN_TEST_CRASH_AT` (tests only: `snapshot-fetch`, `snapshot-install`) kills the process with
 * SIGKILL mid-fetch (after two chunks) or between preparing the copy and installing it.
 */
import type { VersionVector } from '../../core/clock/version-vector.js';
import type { Op } from '../../core/model/op.js';
import type { Storage } from '../../core/storage/storage.js';
import type { Logger } from 'pino';
import { fetchSnapshot, SnapshotFetchError, type Donor } from './fetch.js';
import { prepareFetched } from './install.js';
import { nodeLimits } from '../limits.js';

const { rejoinRetryMs } = nodeLimits;

export interface RejoinHost {
  readonly dataDir: string;
  readonly cluster: string;
  readonly region: string;
  readonly log: Logger;
  /** Members to ask, nearest healthy first. */
  donors(): Donor[];
  /** The live store (to read the orphaned writes from), or null while none is open. */
  storage(): Storage | null;
  /** Closes the live store, installs the prepared one, opens it with a new core. */
  swap(): void;
  /** Sent with every request to a donor (the node secret, when the cluster requires authentication). */
  readonly headers?: Readonly<Record<string, string>>;
}

function crashIfAsked(point: string): void {
  if (process.env['TERN_TEST_CRASH_AT'] === point) process.kill(process.pid, 'SIGKILL');
}

export class Rejoin {
  readonly #host: RejoinHost;
  #running = false;
  #notBeforeMs = 0;
  readonly #abort = new AbortController();

  constructor(host: RejoinHost) {
    this.#host = host;
  }

  /** Called after every turn with what the core wants: starts an attempt when one is due. */
  poll(wanted: { readonly after: VersionVector; readonly readmitIndex: number; readonly through: number } | null): void {
    if (wanted === null || this.#running || Date.now() < this.#notBeforeMs || this.#abort.signal.aborted) return;
    this.#running = true;
    void this.#attempt(wanted).finally(() => {
      this.#running = false;
    });
  }

  stop(): void {
    this.#abort.abort(new Error('the node is stopping'));
  }

  async #attempt(w: { readonly after: VersionVector; readonly readmitIndex: number; readonly through: number }): Promise<void> {
    const h = this.#host;
    const t0 = Date.now();
    try {
      h.log.warn({ after: w.after, readmitIndex: w.readmitIndex }, 'evicted from stability and being readmitted: fetching a snapshot of a member to rejoin from');
      let logged = 0;
      const manifest = await fetchSnapshot({
        dataDir: h.dataDir,
        cluster: h.cluster,
        after: w.after,
        donors: h.donors(),
        ...(h.headers !== undefined ? { headers: h.headers } : {}),
        signal: this.#abort.signal,
        onProgress: (p) => {
          if (p.done >= 2) crashIfAsked('snapshot-fetch');
          // Progress for people: about every tenth of the copy, and at the end.
          if (p.done === p.chunks || p.done - logged >= Math.max(1, Math.ceil(p.chunks / 10))) {
            logged = p.done;
            h.log.info({ donor: p.donor, chunks: `${p.done}/${p.chunks}`, bytes: p.bytes }, `snapshot ${Math.round((100 * p.done) / Math.max(1, p.chunks))}% fetched`);
          }
        },
      });
      const orphans = this.#orphans(w.through);
      await prepareFetched(h.dataDir, { manifest, readmitIndex: w.readmitIndex, orphans, region: h.region, old: h.storage() });
      crashIfAsked('snapshot-install');
      h.swap();
      h.log.warn({ donor: manifest.region, bytes: manifest.bytes, ms: Date.now() - t0, orphans: orphans.length }, `installed a snapshot of ${manifest.region}; ${orphans.length} write(s) of this region no other region received are kept as orphans (terndb orphans)`);
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      this.#notBeforeMs = Date.now() + rejoinRetryMs;
      const expected = err instanceof SnapshotFetchError;
      h.log.warn(expected ? { reason: (err as Error).message } : { err }, `the snapshot for the rejoin failed; trying again in ${rejoinRetryMs} ms`);
    }
  }

  /** This region's writes beyond what survived its eviction: held here only, never to be applied anywhere. */
  #orphans(through: number): Op[] {
    const storage = this.#host.storage();
    if (storage === null) return [];
    const out: Op[] = [];
    let after = through;
    for (;;) {
      const batch = storage.readOps(this.#host.region, after, 1000);
      if (batch.length === 0) return out;
      out.push(...batch);
      after = (batch[batch.length - 1] as Op).dot.seq;
    }
  }
}
