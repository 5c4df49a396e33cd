/**
 * Unique fields of async tables enforced through the strong log (`unique: [{field, enforce:
 * "strong"}]`), between the two engines of a region core.
 *
 * Claiming. Every write that sets such a field claims (table, field, value) for the row's key in
 * the strong log first, even when the row already holds the value (it may have been released and
 * claimed by another key since). Another holder refuses the write with 409 UNIQUE_VIOLATION; no
 * quorum refuses it with the strong group's error (504/503, field named): nothing is written. A
 * grant is used at once or not at all: a write whose claims took longer than `claimValidityMs`
 * (the strong timeout) to come back is refused as if it had timed out.
 *
 * Releasing is where the danger is: a release must never free a value that some write will still
 * give the row. A release is therefore fenced, and decided late:
 * - before the write (or delete) W, note the strong log index `c` this region has applied and the
 *   time `t`. Any claim at or below `c` was granted before `t`, so any write made under it was made
 *   before `t + claimValidityMs (+ slack)`, and a claim made after `c` (a new write of the value,
 *   also by this same key) is above the fence;
 * - after W committed, wait until this region holds every op any region made before that time
 *   (the replica's heartbeat freshness, with the clock offset), then read the row: every write
 *   made under a fenced claim is in it;
 * - release, in one log command, the claims of the key at or below `c` except the value the row
 *   shows. Under `delete-wins` nothing can bring back a value the row no longer shows: a later
 *   delete kills every write it saw or ran concurrently with.
 * Under `update-wins` a later delete can kill the winning write and leave a concurrent losing one
 * (with an older value) standing, so tables with `update-wins` never release: a value stays with
 * the key that claimed it. The same holds for claims of writes that failed after their claim, until
 * the key's next successful write or delete releases them. Leaks, never duplicates.
 *
 * Pending releases live in memory: a restart forgets them (the values stay claimed: a leak).
 */
import type { NodeTime } from '../clock/node-time.js';
import { ternError, type TernError } from '../errors.js';
import { limits } from '../limits.js';
import type { RowView } from '../model/row-view.js';
import { parseWriteBody } from '../model/write-body.js';
import type { ClientReply, ClientRequest } from '../replica/messages.js';
import type { TablePolicy } from '../schema/policy.js';
import type { StrongReply, StrongRequest } from '../strong/messages.js';
import { canonicalJson, type JsonValue } from '../util/json.js';

export interface UniqueGatePort {
  tables(): Readonly<Record<string, TablePolicy>>;
  /** The strong log index this region has applied. */
  strongIndex(): number;
  /** A time (wall clock) before which this region holds every op of every region (null: not known yet). */
  freshAsOfMs(): number | null;
  /** The row as this region shows it now. */
  row(table: string, key: string): RowView | null;
  /** Asks the strong group; `done` gets its answer (in this turn or a later one). */
  askStrong(request: StrongRequest, done: (reply: StrongReply) => void): void;
  /** Hands the write to the replica; `done` gets its answer once committed. */
  write(request: ClientRequest, done: (reply: ClientReply) => void): void;
  warn(message: string, details: Readonly<Record<string, unknown>>): void;
  readonly maxClockOffsetMs: number;
  /** How long a granted claim may take to come back and still be used (the strong timeout). */
  readonly claimValidityMs: number;
}

interface PendingRelease {
  readonly table: string;
  readonly key: string;
  readonly fields: readonly string[];
  /** Claims at or below this log index may be released. */
  readonly upTo: number;
  /** Every write made under such a claim was made before this time (wall clock). */
  readonly madeBeforeMs: number;
}

/** Beyond the claim's validity: a turn of the event loop between the check and the write's step. */
const stepSlackMs = 1000;

/** The fields of this table whose uniqueness the strong log enforces. */
export function strongUniqueFields(policy: TablePolicy | undefined): readonly string[] {
  if (policy === undefined || policy.mode !== 'async') return [];
  return policy.unique.filter((u) => u.enforce === 'strong').map((u) => u.field);
}

export class UniqueGate {
  readonly #p: UniqueGatePort;
  /** In the order they were scheduled: freshness only grows, so the head is always due first. */
  #pending: PendingRelease[] = [];
  #releasing = 0;
  #now: NodeTime = { wallMs: 0, monoMs: 0 };
  /** Releases waiting at most; beyond it the oldest is dropped (its values stay claimed: a leak, logged). */
  readonly #pendingMax: number;

  /** `pendingReleasesMax` overrides limits.uniqueReleasesPendingMax (tests reach it with a small value). */
  constructor(port: UniqueGatePort, pendingReleasesMax: number = limits.uniqueReleasesPendingMax) {
    this.#p = port;
    this.#pendingMax = pendingReleasesMax;
  }

  get pendingReleases(): number {
    return this.#pending.length;
  }

  /** The time of the turn (claims' validity, fences). */
  setTime(now: NodeTime): void {
    this.#now = now;
  }

  /**
   * Takes a write or delete to a table with strongly unique fields: claims, then writes, then
   * schedules the release; `answer` gets the client's reply. False for any other request (the
   * caller hands it to the replica itself).
   */
  submit(request: ClientRequest, answer: (reply: ClientReply) => void): boolean {
    if (request.kind !== 'write' && request.kind !== 'delete') return false;
    const policy = this.#p.tables()[request.table];
    const fields = strongUniqueFields(policy);
    if (policy === undefined || fields.length === 0) return false;
    // The fence comes first: everything this request claims lands above it.
    const upTo = this.#p.strongIndex();
    const madeBeforeMs = this.#now.wallMs + this.#p.claimValidityMs + stepSlackMs + this.#p.maxClockOffsetMs;
    const write = (touches: boolean): void =>
      this.#p.write(request, (reply) => {
        if (reply.ok && touches && policy.onDeleteUpdate === 'delete-wins') this.#schedule({ table: request.table, key: request.key, fields, upTo, madeBeforeMs });
        answer(reply);
      });
    if (request.kind === 'delete') {
      write(true);
      return true;
    }
    const changes = parseWriteBody(request.body, request.method ?? 'PATCH', policy);
    if (!changes.ok) return false; // the replica refuses it, naming the field
    const claims: Array<{ field: string; value: JsonValue }> = [];
    let touches = false;
    for (const field of fields) {
      const c = changes.value[field];
      if (c !== undefined) touches = true;
      if (c !== undefined && c.k === 'set' && c.value !== null) claims.push({ field, value: c.value });
    }
    const firstSentMs = this.#now.monoMs;
    const next = (i: number): void => {
      const claim = claims[i];
      if (claim === undefined) return write(touches);
      this.#p.askStrong({ kind: 'claim', table: request.table, field: claim.field, value: claim.value, key: request.key }, (r) => {
        const refusal = claimRefusal(r, claim.field, claim.value);
        if (refusal !== null) return answer({ ok: false, error: refusal });
        // Every claim must be used within its validity, counted from the first one's request.
        if (this.#now.monoMs - firstSentMs > this.#p.claimValidityMs) {
          return answer({ ok: false, error: ternError('QUORUM_TIMEOUT', `the claim of ${claim.field} came back after ${this.#p.claimValidityMs} ms, too late to be used; nothing was written: retry`, { field: claim.field, mayHaveCommitted: false }) });
        }
        next(i + 1);
      });
    };
    next(0);
    return true;
  }

  #schedule(p: PendingRelease): void {
    if (this.#pending.length >= this.#pendingMax) {
      const dropped = this.#pending.shift() as PendingRelease;
      this.#p.warn('too many unique-value releases pending (is a region unreachable?); the oldest is dropped and its values stay claimed by its key', { table: dropped.table, key: dropped.key });
    }
    this.#pending.push(p);
  }

  /** Call periodically: carries out the releases whose writes every region has heard of. */
  tick(): void {
    if (this.#releasing > 0 || this.#pending.length === 0) return;
    const fresh = this.#p.freshAsOfMs();
    if (fresh === null) return;
    while (this.#pending.length > 0 && (this.#pending[0] as PendingRelease).madeBeforeMs < fresh) this.#release(this.#pending.shift() as PendingRelease);
  }

  #release(p: PendingRelease): void {
    const row = this.#p.row(p.table, p.key);
    for (const field of p.fields) {
      const v = row?.fields[field];
      const keep = v === undefined || v === null ? null : (v as JsonValue);
      this.#releasing++;
      this.#p.askStrong({ kind: 'release', table: p.table, field, key: p.key, keep, upTo: p.upTo }, (res) => {
        this.#releasing--;
        if (!res.ok) this.#p.warn('a unique value could not be released; it stays claimed by this key until the row is written or deleted again', { table: p.table, field, key: p.key, error: res.error });
      });
    }
  }
}

function claimRefusal(r: StrongReply, field: string, value: JsonValue): TernError | null {
  if (!r.ok) {
    // Whatever became of the claim, the write itself was certainly not made.
    const error: TernError = { ...r.error, field, message: `the unique value of ${field} could not be claimed through the strong group, so nothing was written: ${r.error.message}` };
    return r.error.mayHaveCommitted === undefined ? error : { ...error, mayHaveCommitted: false };
  }
  if (r.kind !== 'claim') return ternError('UNIQUE_VIOLATION', `unexpected answer to the claim of ${field}`, { field });
  if (r.granted) return null;
  return ternError('UNIQUE_VIOLATION', `${field} ${canonicalJson(value)} is already held by row ${r.holder ?? '?'}`, { field });
}
