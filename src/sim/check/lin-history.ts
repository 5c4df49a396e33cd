/**
 * Register histories for the linearizability checker (docs/internals/linearizability.md): the
 * event types, JSON lines in and out, and `linOperations`, the one place that says what ok, fail
 * and info mean. One event per line, so a history recorded from real processes can be checked
 * like a simulated one:
 *
 *   {"type":"invoke","process":1,"key":"k1","op":"write","value":3,"time":12.5}
 *   {"type":"ok","process":1,"key":"k1","op":"write","value":3,"time":20}
 *   {"type":"invoke","process":2,"key":"k1","op":"cas","value":{"from":3,"to":4},"time":21}
 *   {"type":"ok","process":2,"key":"k1","op":"cas","ok":false,"time":23}
 *
 * Also accepted, as written by the first users of this module: a cas input as [from, to], and an
 * ok cas without "ok" (it applied).
 */

/** A register value: a JSON scalar, compared with ===. Every register starts as null (absent). */
export type LinScalar = string | number | boolean | null;
export type LinOpName = 'read' | 'write' | 'cas';
export type LinEventType = 'invoke' | 'ok' | 'fail' | 'info';

export interface LinCasArgs {
  readonly from: LinScalar;
  readonly to: LinScalar;
}

/** A cas's input: {from, to}, or the older form [from, to] (both accepted everywhere). */
export type LinCasInput = LinCasArgs | readonly [LinScalar, LinScalar];

export interface LinEvent {
  readonly type: LinEventType;
  /** A client process; it has at most one outstanding invoke. */
  readonly process: number;
  readonly key: string;
  readonly op: LinOpName;
  /**
   * invoke write: the value written; invoke cas: {from, to} (or [from, to]); ok read: the value
   * read (null when absent). An ok write or cas may repeat its invoke's value (it must then be equal).
   */
  readonly value?: LinScalar | LinCasInput;
  /**
   * ok cas only: true (the default) when the register held `from` and now holds `to`; false when
   * it did not hold `from`, so nothing changed.
   */
  readonly ok?: boolean;
  /** Milliseconds from any origin, on one clock for the whole history; may be fractional. */
  readonly time: number;
}

/** An invoke paired with its completion. Failed operations are dropped: they did not happen. */
export interface LinOperation {
  readonly process: number;
  readonly key: string;
  readonly op: LinOpName;
  /** False for info (or never completed): it took effect once, after `call`, or never; its output is unknown. */
  readonly known: boolean;
  /** read: the value read (null when !known); write: the value written; cas: `to`. */
  readonly value: LinScalar;
  /** cas: `from`; null otherwise. */
  readonly from: LinScalar;
  /** A known cas: whether it applied. True for everything else. */
  readonly casOk: boolean;
  /** Invoke time. */
  readonly call: number;
  /** Completion time; Infinity when !known (an unknown operation may take effect at any later time). */
  readonly ret: number;
  /** Time of the info event; null when the operation is known or never completed. */
  readonly infoTime: number | null;
}

const eventTypes: ReadonlySet<string> = new Set<LinEventType>(['invoke', 'ok', 'fail', 'info']);
const opNames: ReadonlySet<string> = new Set<LinOpName>(['read', 'write', 'cas']);

export function isLinScalar(v: unknown): v is LinScalar {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

export function isLinCasArgs(v: unknown): v is LinCasArgs {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return 'from' in o && 'to' in o && isLinScalar(o['from']) && isLinScalar(o['to']);
}

export function isLinCasInput(v: unknown): v is LinCasInput {
  return isLinCasArgs(v) || (Array.isArray(v) && v.length === 2 && isLinScalar(v[0]) && isLinScalar(v[1]));
}

/** {from, to} of a cas input. */
export function linCasArgs(v: LinCasInput): LinCasArgs {
  return isLinCasArgs(v) ? { from: v.from, to: v.to } : { from: v[0], to: v[1] };
}

/** Why `value` is not a well-formed event, or null. Fields the checker does not use are ignored. */
export function linEventProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'an event is a JSON object';
  const e = value as Record<string, unknown>;
  if (typeof e['type'] !== 'string' || !eventTypes.has(e['type'])) return `type must be one of ${[...eventTypes].join(', ')}`;
  if (typeof e['process'] !== 'number' || !Number.isSafeInteger(e['process'])) return 'process must be an integer';
  if (typeof e['key'] !== 'string') return 'key must be a string';
  if (typeof e['op'] !== 'string' || !opNames.has(e['op'])) return `op must be one of ${[...opNames].join(', ')}`;
  if (typeof e['time'] !== 'number' || !Number.isFinite(e['time'])) return 'time must be a finite number';
  return valueProblem(e['type'], e['op'], e);
}

function valueProblem(type: string, op: string, e: Record<string, unknown>): string | null {
  const v = e['value'];
  if (op === 'write' && (type === 'invoke' || v !== undefined) && !isLinScalar(v)) return 'a write carries the value written (a JSON scalar)';
  if (op === 'cas' && (type === 'invoke' || v !== undefined) && !isLinCasInput(v)) return 'a cas carries {"from": scalar, "to": scalar}';
  // A missing value is not null: null is an answer ("absent"), so it must be explicit.
  if (op === 'read' && type === 'ok' && !isLinScalar(v)) return 'an ok read carries the value read (a JSON scalar; null when absent)';
  if (op === 'cas' && type === 'ok' && e['ok'] !== undefined && typeof e['ok'] !== 'boolean') return 'the "ok" of a cas is true (applied) or false (the register did not hold "from")';
  return null;
}

/** The event with its fields in the documented order, without fields the checker does not use. */
function cleanEvent(e: LinEvent): LinEvent {
  const input = e.value === undefined || (e.op === 'read' && e.type !== 'ok') ? {} : { value: isLinCasInput(e.value) ? linCasArgs(e.value) : e.value };
  const ok = e.ok === undefined || e.op !== 'cas' ? {} : { ok: e.ok };
  return { type: e.type, process: e.process, key: e.key, op: e.op, ...input, ...ok, time: e.time };
}

export function linHistoryToJsonl(events: readonly LinEvent[]): string {
  return events.map((e) => JSON.stringify(cleanEvent(e)) + '\n').join('');
}

/** Parses JSON lines (blank lines skipped); throws an Error naming the line at fault. */
export function parseLinHistoryJsonl(text: string): LinEvent[] {
  return parseLines(text);
}

function parseLines(text: string): LinEvent[] {
  const events: LinEvent[] = [];
  const lineOf: number[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new Error(`line ${i + 1}: not JSON (${err instanceof Error ? err.message : String(err)})`);
    }
    const problem = linEventProblem(value);
    if (problem !== null) throw new Error(`line ${i + 1}: ${problem}`);
    events.push(cleanEvent(value as LinEvent));
    lineOf.push(i + 1);
  });
  // Pairing problems (a completion with no invoke, two invokes at once) also name their line.
  linOperations(events, (i) => `line ${lineOf[i] ?? '?'}`);
  return events;
}

/** Indexes of `events` sorted by time; ties keep input order (a stable sort). */
export function linTimeOrder(events: readonly LinEvent[]): number[] {
  return events.map((_, i) => i).sort((a, b) => (events[a]?.time ?? 0) - (events[b]?.time ?? 0) || a - b);
}

interface Pending {
  readonly event: LinEvent;
  readonly index: number;
}

/**
 * Sorts the events by time (ties keep input order), then pairs each invoke with the next
 * completion of its process. `ok` and `info` become operations (an invoke with no completion
 * counts as info); `fail` ones are dropped. Operations come out in invoke order. Throws naming the
 * event (via `where`, given its input index) on a malformed event, a completion with no
 * outstanding invoke, a second invoke while one is outstanding, or a completion whose key, op or
 * value differ from its invoke's.
 */
export function linOperations(events: readonly LinEvent[], where: (index: number) => string = (i) => `event ${i + 1}`): LinOperation[] {
  const open = new Map<number, Pending>();
  const byInvoke: Array<LinOperation | undefined> = [];
  for (const i of linTimeOrder(events)) {
    const e = events[i] as LinEvent;
    const pending = open.get(e.process);
    const problem = linEventProblem(e) ?? (e.type === 'invoke' ? invokeProblem(e, pending, where) : completionProblem(e, pending, where));
    if (problem !== null) throw new Error(`${where(i)}: ${problem}`);
    if (e.type === 'invoke' || pending === undefined) {
      open.set(e.process, { event: e, index: i });
      continue;
    }
    open.delete(e.process);
    if (e.type !== 'fail') byInvoke[pending.index] = operation(pending.event, e);
  }
  for (const p of open.values()) byInvoke[p.index] = operation(p.event, null);
  return byInvoke.filter((op): op is LinOperation => op !== undefined).sort((a, b) => a.call - b.call);
}

function invokeProblem(e: LinEvent, pending: Pending | undefined, where: (index: number) => string): string | null {
  return pending === undefined ? null : `process ${e.process} invokes again while its ${pending.event.op} of ${where(pending.index)} is outstanding`;
}

function completionProblem(e: LinEvent, pending: Pending | undefined, where: (index: number) => string): string | null {
  if (pending === undefined) return `${e.type} at time ${e.time} for process ${e.process}, which has no outstanding invoke (events are paired per process in time order)`;
  const inv = pending.event;
  if (inv.key !== e.key || inv.op !== e.op) return `${e.type} for ${e.op} of ${JSON.stringify(e.key)} completes the ${inv.op} of ${JSON.stringify(inv.key)} invoked on ${where(pending.index)}`;
  if (e.value !== undefined && inv.op !== 'read' && !sameInput(inv.value, e.value)) {
    return `${e.type} repeats the value ${JSON.stringify(e.value)}, but the invoke on ${where(pending.index)} had ${JSON.stringify(inv.value)}`;
  }
  return null;
}

function sameInput(a: LinEvent['value'], b: LinEvent['value']): boolean {
  if (isLinCasInput(a) && isLinCasInput(b)) {
    const [x, y] = [linCasArgs(a), linCasArgs(b)];
    return x.from === y.from && x.to === y.to;
  }
  return a === b;
}

function operation(inv: LinEvent, done: LinEvent | null): LinOperation {
  const known = done !== null && done.type === 'ok';
  const base = { process: inv.process, key: inv.key, op: inv.op, known, call: inv.time, ret: known ? done.time : Infinity, infoTime: done?.type === 'info' ? done.time : null };
  if (inv.op === 'cas' && isLinCasInput(inv.value)) {
    const { from, to } = linCasArgs(inv.value);
    return { ...base, from, value: to, casOk: !known || done.ok !== false };
  }
  const value = inv.op === 'read' ? (known ? done.value : null) : inv.value;
  return { ...base, from: null, value: isLinScalar(value) ? value : null, casOk: true };
}

/**
 * Events that record `ops` again (invoke, then ok, info or nothing), in time order, so that a
 * part of a history (a counterexample) can be printed as JSON lines and checked on its own.
 */
export function linOperationEvents(ops: readonly LinOperation[]): LinEvent[] {
  const events: LinEvent[] = [];
  // Per process, each completion is pushed right after its invoke, so the stable sort below keeps
  // a completion before the same process's next invoke at the same time.
  for (const o of [...ops].sort((a, b) => a.call - b.call)) {
    const base = { process: o.process, key: o.key, op: o.op };
    const input = o.op === 'cas' ? { from: o.from, to: o.value } : o.op === 'write' ? o.value : undefined;
    events.push(input === undefined ? { type: 'invoke', ...base, time: o.call } : { type: 'invoke', ...base, value: input, time: o.call });
    if (o.known && o.op === 'read') events.push({ type: 'ok', ...base, value: o.value, time: o.ret });
    else if (o.known && o.op === 'cas') events.push({ type: 'ok', ...base, ok: o.casOk, time: o.ret });
    else if (o.known) events.push({ type: 'ok', ...base, time: o.ret });
    else if (o.infoTime !== null) events.push({ type: 'info', ...base, time: o.infoTime });
  }
  const order = linTimeOrder(events);
  return order.map((i) => events[i] as LinEvent);
}
