/**
 * Counters: the final value of every counter that was only ever incremented (no delete of the
 * row, no set/unset of the field) lies within what the history allows — every ok increment
 * counted exactly once, each info increment either counted once or not at all — and equals the
 * sum over identities of the ledger's increments (each counted as often as its longest causal chain). Retries (same idempotency key) are one
 * logical increment, so a retry that was applied twice shows up as a value above the bound.
 */
import { rowChangingOps } from './ledger-model.js';
import { fieldType } from '../../core/schema/policy.js';
import { canonicalJson } from '../../core/util/json.js';
import type { RunRecord } from '../history.js';
import { callsOf, isAsyncTable, writeAckOf, type Call, type Outcome } from './calls.js';
import { dotKey } from '../../core/clock/version-vector.js';
import { Findings, type CheckerVerdict } from './findings.js';
import { fmtDot } from './format.js';
import { chainLength, saturatingSum } from './reference.js';
import { groupBy } from './group.js';
import { opIdentity, type Op } from '../../core/model/op.js';

export const countersName = 'counters';

interface LogicalIncrement {
  readonly first: Call;
  readonly delta: number;
  readonly outcome: Outcome;
  readonly idempotencyKey: string | undefined;
}

interface Counter {
  readonly table: string;
  readonly key: string;
  readonly field: string;
}

const counterId = (c: Counter): string => [c.table, c.key, c.field].join('\u0000');
const fmtCounter = (c: Counter): string => `counter ${c.table}/${c.key}.${c.field}`;

export function checkCounters(run: RunRecord): CheckerVerdict {
  const f = new Findings();
  const calls = callsOf(run.history);
  const increments = logicalIncrements(run, calls);
  const ledgerIncrs = ledgerIncrements(run);
  const counters = new Map<string, Counter>();
  for (const [id, { counter }] of [...increments, ...ledgerIncrs]) counters.set(id, counter);
  const opsByRow = groupBy(rowChangingOps(run), (op) => op.table + '\u0000' + op.key);
  const idemKeys = new Set(rowChangingOps(run).flatMap((op) => (op.idem ? [op.idem.key] : [])));
  for (const [id, counter] of [...counters].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!onlyIncremented(opsByRow.get(counter.table + '\u0000' + counter.key) ?? [], counter.field)) continue;
    f.examined();
    checkCounter(run, counter, increments.get(id)?.list ?? [], ledgerIncrs.get(id)?.list ?? [], idemKeys, f);
  }
  checkIdempotency(run, calls, f);
  return f.verdict(countersName);
}

function isCounter(run: RunRecord, table: string, field: string): boolean {
  const policy = run.tables[table];
  return policy !== undefined && policy.mode === 'async' && fieldType(policy, field) === 'counter';
}

/** Increments from the history, an invoke and its retries (retryOf → first attempt) as one. */
function logicalIncrements(run: RunRecord, calls: readonly Call[]): Map<string, { counter: Counter; list: LogicalIncrement[] }> {
  const attempts = new Map<string, { counter: Counter; field: string; calls: Call[] }>();
  for (const call of calls) {
    const c = call.invoke.call;
    if (c.f !== 'write' || !isAsyncTable(run, c.table)) continue;
    for (const field of Object.keys(c.body.incr ?? {})) {
      if (!isCounter(run, c.table, field)) continue;
      const counter = { table: c.table, key: c.key, field };
      const group = counterId(counter) + '\u0000' + String(call.invoke.retryOf ?? call.id);
      const entry = attempts.get(group) ?? { counter, field, calls: [] };
      entry.calls.push(call);
      attempts.set(group, entry);
    }
  }
  // An increment acknowledged by a region later evicted, and received by no other, is orphaned: it
  // is never applied (its dot carries an orphan report), and final-state checks that it is listed.
  const orphaned = new Set(run.ledger.filter((o) => o.orphaned !== undefined).map((o) => dotKey(o.dot)));
  const out = new Map<string, { counter: Counter; list: LogicalIncrement[] }>();
  for (const { counter, field, calls: list } of attempts.values()) {
    if (orphaned.size > 0 && list.some((a) => { const ack = writeAckOf(a); return ack !== null && orphaned.has(dotKey(ack.dot)); })) continue;
    const first = list[0] as Call;
    const c = first.invoke.call;
    if (c.f !== 'write') continue;
    const outcome: Outcome = list.some((a) => a.outcome === 'ok') ? 'ok' : list.some((a) => a.outcome === 'info') ? 'info' : 'fail';
    const entry = out.get(counterId(counter)) ?? { counter, list: [] };
    entry.list.push({ first, delta: c.body.incr?.[field] ?? 0, outcome, idempotencyKey: c.idempotencyKey });
    out.set(counterId(counter), entry);
  }
  return out;
}

function ledgerIncrements(run: RunRecord): Map<string, { counter: Counter; list: Op[] }> {
  const out = new Map<string, { counter: Counter; list: Op[] }>();
  for (const op of rowChangingOps(run)) {
    for (const [field, change] of Object.entries(op.changes)) {
      if (change.k !== 'incr' || !isCounter(run, op.table, field)) continue;
      const counter = { table: op.table, key: op.key, field };
      const entry = out.get(counterId(counter)) ?? { counter, list: [] };
      entry.list.push(op);
      out.set(counterId(counter), entry);
    }
  }
  return out;
}

/** Deletes and resets make the expected value depend on causality; those counters are left to final-state. */
function onlyIncremented(rowOps: readonly Op[], field: string): boolean {
  return !rowOps.some((op) => {
    const change = op.changes[field];
    return op.kind === 'delete' || change?.k === 'set' || change?.k === 'unset';
  });
}

function checkCounter(run: RunRecord, counter: Counter, increments: readonly LogicalIncrement[], ledgerOps: readonly Op[], idemKeys: Set<string>, f: Findings): void {
  const name = fmtCounter(counter);
  checkAckedInLedger(name, increments, idemKeys, f);
  const final = run.finals[0];
  if (final === undefined) {
    f.violation(`${name}: ${increments.length} logical increments but no final state to check (heal did not finish)`);
    return;
  }
  const row = (final.rows[counter.table] ?? []).find((r) => r.key === counter.key);
  const raw = row?.fields[counter.field] ?? 0;
  if (typeof raw !== 'number') {
    f.violation(`${name}: region ${final.region} holds a non-number ${JSON.stringify(raw)}`);
    return;
  }
  checkBounds(name, final.region, raw, increments, f);
  // Copies (concurrent ops with one identity) count once; a later op with the same identity (a
  // retry after its record expired) counts again: each identity counts its longest causal chain.
  const perIdentity = groupBy(
    ledgerOps.filter((op) => op.changes[counter.field]?.k === 'incr'),
    (op) => opIdentity(op),
  );
  const terms: number[] = [];
  for (const ops of perIdentity.values()) {
    const c = (ops[0] as Op).changes[counter.field];
    const delta = c?.k === 'incr' ? c.delta : 0;
    for (let i = chainLength(ops); i > 0; i--) terms.push(delta);
  }
  const ledgerSum = saturatingSum(terms);
  if (raw !== ledgerSum) {
    f.violation(`${name}: region ${final.region} has ${raw} but the ledger's ${ledgerOps.length} increments (${perIdentity.size} distinct identities) sum to ${ledgerSum}`);
  }
}

function checkBounds(name: string, region: string, value: number, increments: readonly LogicalIncrement[], f: Findings): void {
  const sum = (pick: (i: LogicalIncrement) => boolean, d: (x: number) => number): number => increments.filter(pick).reduce((s, i) => s + d(i.delta), 0);
  const okSum = sum((i) => i.outcome === 'ok', (x) => x);
  const lo = okSum + sum((i) => i.outcome === 'info', (x) => Math.min(0, x));
  const hi = okSum + sum((i) => i.outcome === 'info', (x) => Math.max(0, x));
  if (value >= lo && value <= hi) return;
  const n = (o: Outcome): number => increments.filter((i) => i.outcome === o).length;
  const retried = increments.filter((i) => i.outcome === 'ok' && i.idempotencyKey !== undefined).map((i) => `op ${i.first.id}`);
  const hint = value > hi ? ` (counted an increment more than once? retried: ${retried.join(', ') || 'none'})` : ' (lost an acknowledged increment?)';
  f.violation(`${name}: region ${region} has ${value}, outside [${lo}, ${hi}] allowed by ${n('ok')} ok and ${n('info')} info logical increments${hint}`);
}

function checkAckedInLedger(name: string, increments: readonly LogicalIncrement[], idemKeys: Set<string>, f: Findings): void {
  for (const i of increments) {
    if (i.outcome !== 'ok' || i.idempotencyKey === undefined) continue;
    if (!idemKeys.has(i.idempotencyKey)) {
      f.violation(`${name}: acknowledged increment op ${i.first.id} (process ${i.first.invoke.process}, idempotency key ${i.idempotencyKey}) has no op in the ledger`);
    }
  }
}

/**
 * Copies of one logical write must share an identity. Identity is a function of (key, digest), so
 * the useful check is on digests: when every request sent under a key was the same, every op
 * carrying that key must carry the same digest, or a retry is counted twice.
 */
function checkIdempotency(run: RunRecord, calls: readonly Call[], f: Findings): void {
  const byKey = groupBy(
    rowChangingOps(run).filter((op) => op.idem !== undefined),
    (op) => op.idem?.key ?? '',
  );
  for (const [key, ops] of byKey) {
    f.examined();
    const first = ops[0] as Op;
    for (const op of ops.slice(1)) {
      if (op.idem?.digest === first.idem?.digest && opIdentity(op) !== opIdentity(first)) {
        f.violation(`idempotency key ${key}: ops ${fmtDot(first.dot)} and ${fmtDot(op.dot)} have the same digest but different identities`);
      }
    }
    const requests = new Set(calls.filter((c) => 'idempotencyKey' in c.invoke.call && c.invoke.call.idempotencyKey === key).map((c) => canonicalJson(c.invoke.call)));
    const digests = new Set(ops.map((op) => op.idem?.digest));
    if (requests.size === 1 && digests.size > 1) {
      f.violation(`idempotency key ${key}: one request was sent, but ops ${ops.map((o) => fmtDot(o.dot)).join(', ')} carry ${digests.size} digests, so its copies count as different writes`);
    }
  }
}
