/**
 * Unique fields of async tables enforced through the strong log (`unique: [{field, enforce:
 * "strong"}]`). It sits in the shell, between the two cores, as a client of both.
 *
 * Claiming. Every write that sets such a field claims (table, field, value) for the row's key in
 * the strong log first, even when the row already holds the value (it may have been released and
 * claimed by another key since). Another holder refuses the write with 409 UNIQUE_VIOLATION; no
 * quorum refuses it with the strong group's error (504/503, field named): nothing is written. A
 * grant is used at once or not at all: a write whose claim took longer than `claimValidityMs`
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
import { canonicalJson, type JsonValue } from '../core/util/json.js';
import { ternError, type TernError } from '../core/errors.js';
import type { ClientReply, ClientRequest } from '../core/replica/messages.js';
import type { TablePolicy } from '../core/schema/policy.js';
import type { StrongReply, StrongRequest } from '../core/strong/messages.js';
import { parseWriteBody } from '../core/model/write-body.js';

export interface StrongUniqueDeps {
  tables(): Readonly<Record<string, TablePolicy>>;
  submitAsync(request: ClientRequest): Promise<ClientReply>;
  submitStrong(request: StrongRequest): Promise<StrongReply>;
  /** The strong log index this region has applied. */
  strongAppliedIndex(): number;
  /** Wall-clock ms (the replica's clock). */
  nowMs(): number;
  /** Monotonic ms, to time a claim's round trip. */
  monoMs(): number;
  /** A time before which this region holds every op of every region (null: not known yet). */
  freshAsOfMs(): number | null;
  readonly maxClockOffsetMs: number;
  /** How long a granted claim may take to come back and still be used (the strong timeout). */
  readonly claimValidityMs: number;
  warn(details: Record<string, unknown>, message: string): void;
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
const pendingMax = 100_000;

/** The fields of this table whose uniqueness the strong log enforces. */
export function strongUniqueFields(policy: TablePolicy | undefined): readonly string[] {
  if (policy === undefined || policy.mode !== 'async') return [];
  return policy.unique.filter((u) => u.enforce === 'strong').map((u) => u.field);
}

export class StrongUniqueGate {
  readonly #deps: StrongUniqueDeps;
  /** In the order they were scheduled: freshness only grows, so the head is always due first. */
  #pending: PendingRelease[] = [];
  #releasing = false;

  constructor(deps: StrongUniqueDeps) {
    this.#deps = deps;
  }

  get pendingReleases(): number {
    return this.#pending.length;
  }

  /** Runs an async-table request, claiming unique values before writes and scheduling releases after. */
  async submit(request: ClientRequest): Promise<ClientReply> {
    const d = this.#deps;
    if (request.kind !== 'write' && request.kind !== 'delete') return d.submitAsync(request);
    const policy = d.tables()[request.table];
    const fields = strongUniqueFields(policy);
    if (policy === undefined || fields.length === 0) return d.submitAsync(request);

    // The fence comes first: everything this request claims lands above it.
    const upTo = d.strongAppliedIndex();
    const madeBeforeMs = d.nowMs() + d.claimValidityMs + stepSlackMs + d.maxClockOffsetMs;
    // Only a write that touches a unique field, or a delete, may leave a value to release.
    let touches = request.kind === 'delete';
    if (request.kind === 'write') {
      const changes = parseWriteBody(request.body, request.method ?? 'PATCH', policy);
      if (!changes.ok) return d.submitAsync(request); // the replica refuses it, naming the field
      const firstSentMs = d.monoMs();
      for (const field of fields) {
        const c = changes.value[field];
        if (c !== undefined) touches = true;
        if (c === undefined || c.k !== 'set' || c.value === null) continue;
        const r = await d.submitStrong({ kind: 'claim', table: request.table, field, value: c.value, key: request.key });
        const refusal = claimRefusal(r, field, c.value);
        if (refusal !== null) return { ok: false, error: refusal };
        // Every claim must be used within its validity, counted from the first one's request.
        if (d.monoMs() - firstSentMs > d.claimValidityMs) {
          return { ok: false, error: ternError('QUORUM_TIMEOUT', `the claim of ${field} came back after ${d.claimValidityMs} ms, too late to be used; nothing was written: retry`, { field, mayHaveCommitted: false }) };
        }
      }
    }
    const reply = await d.submitAsync(request);
    if (reply.ok && touches && policy.onDeleteUpdate === 'delete-wins') this.#schedule({ table: request.table, key: request.key, fields, upTo, madeBeforeMs });
    return reply;
  }

  #schedule(p: PendingRelease): void {
    if (this.#pending.length >= pendingMax) {
      const dropped = this.#pending.shift() as PendingRelease;
      this.#deps.warn({ table: dropped.table, key: dropped.key }, 'too many unique-value releases pending (is a region unreachable?); the oldest is dropped and its values stay claimed by its key');
    }
    this.#pending.push(p);
  }

  /** Call periodically: carries out the releases whose writes every region has heard of. */
  tick(): void {
    if (this.#releasing || this.#pending.length === 0) return;
    const fresh = this.#deps.freshAsOfMs();
    if (fresh === null) return;
    const due: PendingRelease[] = [];
    while (this.#pending.length > 0 && (this.#pending[0] as PendingRelease).madeBeforeMs < fresh) due.push(this.#pending.shift() as PendingRelease);
    if (due.length === 0) return;
    this.#releasing = true;
    void this.#release(due).finally(() => (this.#releasing = false));
  }

  async #release(due: readonly PendingRelease[]): Promise<void> {
    const d = this.#deps;
    for (const p of due) {
      const r = await d.submitAsync({ kind: 'read', table: p.table, key: p.key, consistency: 'eventual' });
      const row = r.ok && r.kind === 'read' ? r.row : null;
      for (const field of p.fields) {
        const v = row?.fields[field];
        const keep = v === undefined || v === null ? null : (v as JsonValue);
        const res = await d.submitStrong({ kind: 'release', table: p.table, field, key: p.key, keep, upTo: p.upTo });
        if (!res.ok) d.warn({ table: p.table, field, key: p.key, error: res.error }, 'a unique value could not be released; it stays claimed by this key until the row is written or deleted again');
      }
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
