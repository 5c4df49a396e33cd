/**
 * A history as calls: each invoke paired with its completion. Checkers reason about calls, and
 * about real-time order through event positions (the history is in simulated time order).
 */
import type { ClientCall, HistoryEvent, ReadAck, RunRecord, WriteAck } from '../history.js';

export type InvokeEvent = Extract<HistoryEvent, { type: 'invoke' }>;
export type CompletionEvent = Exclude<HistoryEvent, { type: 'invoke' }>;

/** ok: it happened. fail: it certainly did not. info: unknown (also when no completion was recorded). */
export type Outcome = 'ok' | 'fail' | 'info';

export interface Call {
  readonly id: number;
  readonly invoke: InvokeEvent;
  /** Position of the invoke in the history. */
  readonly invokeAt: number;
  readonly completion: CompletionEvent | null;
  /** Position of the completion in the history; Infinity when there is none. */
  readonly completedAt: number;
  readonly outcome: Outcome;
}

export function callsOf(history: readonly HistoryEvent[]): Call[] {
  const invokes = new Map<number, { invoke: InvokeEvent; at: number }>();
  const completions = new Map<number, { event: CompletionEvent; at: number }>();
  history.forEach((e, at) => {
    if (e.type === 'invoke') invokes.set(e.id, { invoke: e, at });
    else if (!completions.has(e.id)) completions.set(e.id, { event: e, at });
  });
  const calls: Call[] = [];
  for (const [id, { invoke, at }] of invokes) {
    const done = completions.get(id);
    const outcome: Outcome = done === undefined ? 'info' : done.event.type === 'ok' ? 'ok' : done.event.type;
    calls.push({ id, invoke, invokeAt: at, completion: done?.event ?? null, completedAt: done?.at ?? Infinity, outcome });
  }
  return calls.sort((a, b) => a.invokeAt - b.invokeAt);
}

export function writeAckOf(call: Call): WriteAck | null {
  const c = call.completion;
  return c?.type === 'ok' && c.result.kind === 'write' ? c.result : null;
}

export function readAckOf(call: Call): ReadAck | null {
  const c = call.completion;
  return c?.type === 'ok' && c.result.kind === 'read' ? c.result : null;
}

export type ReadCall = Extract<ClientCall, { f: 'read' }>;

export function readCallOf(call: Call): ReadCall | null {
  return call.invoke.call.f === 'read' ? call.invoke.call : null;
}

/** The ok time of a call, or null when it did not complete ok. */
export function okTimeOf(call: Call): number | null {
  return call.completion?.type === 'ok' ? call.completion.timeMs : null;
}

export function isAsyncTable(run: RunRecord, table: string): boolean {
  return run.tables[table]?.mode === 'async';
}

/** `op 12 (process 3, eu-west)`: how messages name a call. */
export function fmtCall(call: Call): string {
  return `op ${call.id} (process ${call.invoke.process}, ${call.invoke.region})`;
}
