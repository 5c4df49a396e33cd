/**
 * The bank checker (Jepsen's bank test) for strong tables. Accounts start with a known total and
 * only transfers through conditional transactions move money, so:
 * - every snapshot read of all accounts sums to the total and shows no negative balance;
 * - the transfer counter that each committed transfer increments in the same transaction is at
 *   least the number of transfers acknowledged as committed and at most that plus the ones whose
 *   outcome is unknown: a transfer executed twice (a retry that was not idempotent) or an
 *   acknowledged transfer lost both show here;
 * - snapshot reads are linearizable for the counter: a read that starts after another finished
 *   never sees fewer transfers;
 * - at the end every node holds the same accounts, and they sum to the total.
 */
import { Findings, type CheckerVerdict } from './findings.js';

export const bankName = 'bank';

export interface BankSnapshot {
  readonly balances: Readonly<Record<string, number>>;
  readonly transfers: number;
}

export interface BankRecord {
  readonly accounts: readonly string[];
  readonly total: number;
  /** Snapshot reads that completed, with when they were invoked and answered. */
  readonly reads: ReadonlyArray<BankSnapshot & { readonly process: number; readonly invokeMs: number; readonly okMs: number }>;
  /** Transfers answered as committed (their compare held). */
  readonly transfersCommitted: number;
  /** Transfers whose outcome is unknown (timeouts, crashes). */
  readonly transfersUnknown: number;
  /** Each live node's state after the heal phase. */
  readonly final: Readonly<Record<string, BankSnapshot | null>>;
}

function describe(s: BankSnapshot): string {
  return `${JSON.stringify(s.balances)} transfers=${s.transfers}`;
}

export function checkBank(r: BankRecord): CheckerVerdict {
  const f = new Findings();
  const sum = (s: BankSnapshot): number => r.accounts.reduce((acc, a) => acc + (s.balances[a] ?? 0), 0);
  const bounds = (s: BankSnapshot, where: string): void => {
    if (s.transfers < 0 || s.transfers > r.transfersCommitted + r.transfersUnknown) {
      f.violation(`${where}: ${s.transfers} transfers counted, but only ${r.transfersCommitted} were acknowledged and ${r.transfersUnknown} are unknown (a transfer ran twice?)`);
    }
  };
  for (const read of r.reads) {
    f.examined();
    if (sum(read) !== r.total) f.violation(`read by process ${read.process} at ${read.okMs.toFixed(1)} ms sums to ${sum(read)}, not ${r.total}: ${describe(read)}`);
    for (const a of r.accounts) if ((read.balances[a] ?? 0) < 0) f.violation(`read by process ${read.process} shows ${a} negative: ${describe(read)}`);
    bounds(read, `read by process ${read.process} at ${read.okMs.toFixed(1)} ms`);
  }
  // Real-time order of counter reads (sorted by answer time; compare each read with every earlier-finished one via a running max).
  const byInvoke = [...r.reads].sort((a, b) => a.invokeMs - b.invokeMs);
  const byOk = [...r.reads].sort((a, b) => a.okMs - b.okMs);
  let j = 0;
  let maxDone: (typeof byOk)[number] | null = null;
  for (const read of byInvoke) {
    while (j < byOk.length && (byOk[j] as (typeof byOk)[number]).okMs < read.invokeMs) {
      const done = byOk[j++] as (typeof byOk)[number];
      if (maxDone === null || done.transfers > maxDone.transfers) maxDone = done;
    }
    if (maxDone !== null && read.transfers < maxDone.transfers) {
      f.violation(`stale read: process ${read.process} invoked at ${read.invokeMs.toFixed(1)} ms saw ${read.transfers} transfers, but a read that finished at ${maxDone.okMs.toFixed(1)} ms had seen ${maxDone.transfers}`);
    }
  }
  const finals = Object.entries(r.final);
  let reference: [string, BankSnapshot] | null = null;
  for (const [node, s] of finals) {
    if (s === null) continue;
    f.examined();
    if (sum(s) !== r.total) f.violation(`final state of ${node} sums to ${sum(s)}, not ${r.total}: ${describe(s)}`);
    bounds(s, `final state of ${node}`);
    if (s.transfers < r.transfersCommitted) f.violation(`final state of ${node} counts ${s.transfers} transfers, fewer than the ${r.transfersCommitted} acknowledged (an acknowledged transfer was lost)`);
    if (reference === null) reference = [node, s];
    else if (describe(reference[1]) !== describe(s)) f.violation(`nodes disagree at the end: ${reference[0]} has ${describe(reference[1])}, ${node} has ${describe(s)}`);
  }
  return f.verdict(bankName);
}
