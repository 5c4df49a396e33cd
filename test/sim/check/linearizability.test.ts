import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import {
  checkLinearizable,
  describeLinOperation,
  formatLinCounterexample,
  formatLinResult,
  linVerdict,
  linearizabilityName,
} from '../../../src/sim/check/linearizability.js';
import type { LinCounterexample, LinKeyResult, LinResult } from '../../../src/sim/check/linearizability.js';
import { linHistoryToJsonl, linOperations, parseLinHistoryJsonl } from '../../../src/sim/check/lin-history.js';
import type { LinEvent, LinOperation, LinScalar } from '../../../src/sim/check/lin-history.js';

// ---------------------------------------------------------------------------------------------
// Builders: one operation as its events. 'pending' means no completion at all.

type Outcome = 'ok' | 'fail' | 'info' | 'pending';

function done(invoke: LinEvent, outcome: Outcome, time: number, extra: Partial<LinEvent> = {}): LinEvent[] {
  if (outcome === 'pending') return [invoke];
  const { type: _type, value: _value, time: _time, ...rest } = invoke;
  return [invoke, { type: outcome, ...rest, ...(outcome === 'ok' ? extra : {}), time }];
}

function write(process: number, value: LinScalar, call: number, ret: number, outcome: Outcome = 'ok', key = 'x'): LinEvent[] {
  return done({ type: 'invoke', process, key, op: 'write', value, time: call }, outcome, ret);
}

function read(process: number, value: LinScalar, call: number, ret: number, outcome: Outcome = 'ok', key = 'x'): LinEvent[] {
  return done({ type: 'invoke', process, key, op: 'read', time: call }, outcome, ret, { value });
}

function cas(process: number, from: LinScalar, to: LinScalar, ok: boolean, call: number, ret: number, outcome: Outcome = 'ok', key = 'x'): LinEvent[] {
  return done({ type: 'invoke', process, key, op: 'cas', value: { from, to }, time: call }, outcome, ret, { ok });
}

function history(...ops: LinEvent[][]): LinEvent[] {
  return ops.flat();
}

function keyResult(result: LinResult, key = 'x'): LinKeyResult {
  const k = result.keys.find((r) => r.key === key);
  expect(k, `key ${key} in the result`).toBeDefined();
  return k as LinKeyResult;
}

/** Checks that `events` is a violation on `key` and returns the counterexample's text. */
function expectViolation(events: readonly LinEvent[], key = 'x'): { text: string; c: LinCounterexample } {
  const result = checkLinearizable(events);
  expect(result.ok).toBe(false);
  const k = keyResult(result, key);
  expect(k.verdict).toBe('violation');
  const c = k.failure as LinCounterexample;
  expect(c).toBeDefined();
  // The shrunk history is itself a violation, so it can be saved and checked again.
  expect(checkLinearizable(c.events).ok).toBe(false);
  return { text: formatLinCounterexample(c).join('\n'), c };
}

function verdictOf(events: readonly LinEvent[], key = 'x'): string {
  return keyResult(checkLinearizable(events), key).verdict;
}

// ---------------------------------------------------------------------------------------------

const example = [
  '{"type":"invoke","process":1,"key":"k1","op":"write","value":3,"time":12.5}',
  '{"type":"invoke","process":2,"key":"k1","op":"read","time":13}',
  '{"type":"ok","process":1,"key":"k1","op":"write","value":3,"time":20}',
  '{"type":"ok","process":2,"key":"k1","op":"read","value":3,"time":21}',
  '{"type":"invoke","process":3,"key":"k1","op":"cas","value":{"from":3,"to":4},"time":22}',
  '{"type":"ok","process":3,"key":"k1","op":"cas","ok":true,"time":25}',
  '{"type":"invoke","process":1,"key":"k1","op":"cas","value":{"from":3,"to":5},"time":26}',
  '{"type":"ok","process":1,"key":"k1","op":"cas","ok":false,"time":27}',
  '{"type":"invoke","process":2,"key":"k1","op":"write","value":"seven","time":30}',
  '{"type":"fail","process":2,"key":"k1","op":"write","time":31}',
  '{"type":"invoke","process":4,"key":"k2","op":"write","value":true,"time":30}',
  '{"type":"info","process":4,"key":"k2","op":"write","time":1030}',
  '{"type":"invoke","process":5,"key":"k2","op":"read","time":2000}',
  '{"type":"ok","process":5,"key":"k2","op":"read","value":true,"time":2001}',
].join('\n');

describe('the JSON-lines history format', () => {
  it('parses the documented example, checks it as linearizable and round-trips it', () => {
    const events = parseLinHistoryJsonl(example);
    expect(events).toHaveLength(14);
    expect(events[4]).toEqual({ type: 'invoke', process: 3, key: 'k1', op: 'cas', value: { from: 3, to: 4 }, time: 22 });
    expect(events[7]).toEqual({ type: 'ok', process: 1, key: 'k1', op: 'cas', ok: false, time: 27 });
    expect(linHistoryToJsonl(events)).toBe(example + '\n');
    expect(parseLinHistoryJsonl(linHistoryToJsonl(events))).toEqual(events);
    const result = checkLinearizable(events);
    expect(result.ok).toBe(true);
    expect(result.keys.map((k) => [k.key, k.verdict, k.ops])).toEqual([['k1', 'ok', 4], ['k2', 'ok', 2]]);
  });

  it('skips blank lines and drops fields the checker does not use', () => {
    const text = '\n{"type":"invoke","process":1,"key":"x","op":"read","value":9,"time":1,"note":"hi"}\n\n{"type":"ok","process":1,"key":"x","op":"read","value":null,"time":2}\n';
    expect(parseLinHistoryJsonl(text)).toEqual([
      { type: 'invoke', process: 1, key: 'x', op: 'read', time: 1 },
      { type: 'ok', process: 1, key: 'x', op: 'read', value: null, time: 2 },
    ]);
  });

  it('names the line and the problem of a malformed line', () => {
    const w = '{"type":"invoke","process":1,"key":"x","op":"write","value":1,"time":1}';
    const ok = '{"type":"ok","process":1,"key":"x","op":"write","time":2}';
    expect(() => parseLinHistoryJsonl(`${w}\n${ok}\n{oops`)).toThrow(/^line 3: not JSON/);
    expect(() => parseLinHistoryJsonl(`${w}\n\n{"type":"done","process":1,"key":"x","op":"write","time":2}`)).toThrow(/^line 3: type must be one of invoke, ok, fail, info/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":"p1","key":"x","op":"read","time":1}')).toThrow(/^line 1: process must be an integer/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":1,"key":7,"op":"read","time":1}')).toThrow(/^line 1: key must be a string/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":1,"key":"x","op":"append","time":1}')).toThrow(/^line 1: op must be one of read, write, cas/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":1,"key":"x","op":"write","time":1}')).toThrow(/^line 1: a write carries the value written/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":1,"key":"x","op":"write","value":{"a":1},"time":1}')).toThrow(/^line 1: a write carries the value written \(a JSON scalar\)/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":1,"key":"x","op":"cas","value":{"from":1},"time":1}')).toThrow(/^line 1: a cas carries \{"from": scalar, "to": scalar\}/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":1,"key":"x","op":"read","time":"soon"}')).toThrow(/^line 1: time must be a finite number/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":1,"key":"x","op":"read","time":1}\n{"type":"ok","process":1,"key":"x","op":"read","time":2}')).toThrow(/^line 2: an ok read carries the value read/);
    expect(() => parseLinHistoryJsonl('{"type":"invoke","process":1,"key":"x","op":"cas","value":{"from":1,"to":2},"time":1}\n\n{"type":"ok","process":1,"key":"x","op":"cas","ok":"yes","time":2}')).toThrow(/^line 3: the "ok" of a cas is true \(applied\) or false/);
  });

  it('names the line of a completion that does not match an outstanding invoke', () => {
    const w = '{"type":"invoke","process":1,"key":"x","op":"write","value":1,"time":1}';
    expect(() => parseLinHistoryJsonl('{"type":"ok","process":4,"key":"x","op":"write","time":1010}')).toThrow(/^line 1: ok at time 1010 for process 4, which has no outstanding invoke/);
    expect(() => parseLinHistoryJsonl(`${w}\n${w.replace('"time":1', '"time":2')}`)).toThrow(/^line 2: process 1 invokes again while its write of line 1 is outstanding/);
    expect(() => parseLinHistoryJsonl(`${w}\n{"type":"ok","process":1,"key":"y","op":"write","time":2}`)).toThrow(/^line 2: ok for write of "y" completes the write of "x" invoked on line 1/);
    expect(() => parseLinHistoryJsonl(`${w}\n{"type":"ok","process":1,"key":"x","op":"write","value":2,"time":2}`)).toThrow(/^line 2: ok repeats the value 2, but the invoke on line 1 had 1/);
    // A completion earlier than its invoke: events are paired in time order, so it has no invoke yet.
    expect(() => parseLinHistoryJsonl(`${w}\n{"type":"ok","process":1,"key":"x","op":"write","time":0}`)).toThrow(/^line 2: ok at time 0 for process 1, which has no outstanding invoke/);
  });

  it('accepts a cas input as [from, to], and an ok cas without "ok" as applied', () => {
    const text = [
      '{"type":"invoke","process":1,"key":"x","op":"cas","value":[null,1],"time":1}',
      '{"type":"ok","process":1,"key":"x","op":"cas","time":2}',
      '{"type":"invoke","process":1,"key":"x","op":"cas","value":[null,2],"time":3}',
      '{"type":"ok","process":1,"key":"x","op":"cas","value":[null,2],"ok":false,"time":4}',
    ].join('\n');
    const events = parseLinHistoryJsonl(text);
    expect(linOperations(events).map((o) => [o.from, o.value, o.casOk])).toEqual([[null, 1, true], [null, 2, false]]);
    expect(linHistoryToJsonl(events).split('\n')[0]).toBe('{"type":"invoke","process":1,"key":"x","op":"cas","value":{"from":null,"to":1},"time":1}');
    const result = checkLinearizable(events, { budgetMsPerKey: 100 });
    expect(result.ok).toBe(true);
    expect(result.keys[0]).toMatchObject({ ops: 2 });
  });

  it('sorts events by time, keeping input order for ties, so a process may invoke again at its completion time', () => {
    const inOrder = history(write(1, 1, 0, 5), write(1, 2, 5, 5), read(1, 2, 5, 9), read(2, 1, 1, 4));
    // Shuffled, except that events at the same time keep their order.
    const shuffled = [inOrder[6], inOrder[1], inOrder[0], inOrder[7], inOrder[2], inOrder[5], inOrder[3], inOrder[4]] as LinEvent[];
    expect(linOperations(shuffled)).toEqual(linOperations(inOrder));
    expect(linOperations(inOrder).map((o) => [o.op, o.value, o.call, o.ret])).toEqual([
      ['write', 1, 0, 5], ['read', 1, 1, 4], ['write', 2, 5, 5], ['read', 2, 5, 9],
    ]);
    expect(checkLinearizable(shuffled).ok).toBe(true);
  });

  it('drops failed operations and gives info and never-completed ones an unknown output and an infinite return', () => {
    const ops = linOperations(history(write(1, 1, 0, 1, 'fail'), read(2, null, 0, 5, 'info'), cas(3, 1, 2, true, 2, 3, 'pending'), cas(4, 5, 6, false, 3, 4)));
    expect(ops).toEqual([
      { process: 2, key: 'x', op: 'read', known: false, call: 0, ret: Infinity, infoTime: 5, from: null, value: null, casOk: true },
      { process: 3, key: 'x', op: 'cas', known: false, call: 2, ret: Infinity, infoTime: null, from: 1, value: 2, casOk: true },
      { process: 4, key: 'x', op: 'cas', known: true, call: 3, ret: 4, infoTime: null, from: 5, value: 6, casOk: false },
    ]);
  });
});

describe('checkLinearizable finds violations, on the right key', () => {
  it('reports a stale read: a write completed, a later read returns the older value', () => {
    const { text, c } = expectViolation(history(write(1, 1, 0, 1), write(1, 2, 2, 3), read(2, 1, 4, 5)));
    expect(c.ops).toHaveLength(3);
    expect(c.shrunk).toBe(true);
    expect(text).toBe([
      'key "x" is not linearizable; a failing history of 3 of its 3 operations (cut after t=5, shrunk as far as it goes):',
      '  p1 write x 1 [0, 1]',
      '  p1 write x 2 [2, 3]',
      '  p2 read x → 1 [4, 5]   ← cannot be linearized',
      'longest linearizable prefix (2 operations), after which x = 2:',
      '  p1 write x 1 [0, 1]',
      '  p1 write x 2 [2, 3]',
      'first operation that cannot be linearized: p2 read x → 1 [4, 5]',
      'pending with it, none of which can go next either: (none)',
    ].join('\n'));
  });

  it('reports a lost write: acknowledged, then never seen by later reads, with no other write in between', () => {
    const events = history(
      write(1, 'a', 0, 10, 'ok', 'acct'), read(2, 'a', 11, 12, 'ok', 'acct'),
      write(1, 'b', 20, 30, 'ok', 'acct'),
      read(2, 'a', 31, 40, 'ok', 'acct'), read(3, 'a', 35, 45, 'ok', 'acct'), read(4, 'a', 41, 50, 'ok', 'acct'),
      write(9, 1, 0, 1, 'ok', 'other'), read(9, 1, 2, 3, 'ok', 'other'),
    );
    const { text, c } = expectViolation(events, 'acct');
    expect(c.blocked.op).toBe('read');
    expect(c.blocked.call).toBe(31);
    expect(text).toContain('p1 write acct "b" [20, 30]');
    expect(text).toContain('first operation that cannot be linearized: p2 read acct → "a" [31, 40]');
    expect(verdictOf(events, 'other')).toBe('ok');
  });

  it('reports a read of a value that was never written, shrunk to that read alone', () => {
    const { text, c } = expectViolation(history(write(1, 1, 0, 1), write(3, 2, 0, 2), read(2, 42, 0, 3), read(3, 2, 4, 5)));
    expect(c.ops.map((o) => o.value)).toEqual([42]);
    expect(c.cutTime).toBe(3);
    expect(text).toContain('first operation that cannot be linearized: p2 read x → 42 [0, 3]');
  });

  it('reports two cas from the same value that both succeed', () => {
    const { text } = expectViolation(history(write(1, 0, 0, 1), cas(2, 0, 1, true, 2, 5), cas(3, 0, 2, true, 3, 6)));
    expect(text).toMatch(/p[23] cas x 0 → [12]: true \[[23], [56]\] {3}← cannot be linearized/);
  });

  it('reports a read that sees a value before its write was invoked', () => {
    const { text } = expectViolation(history(read(2, 7, 0, 5), write(1, 7, 10, 12)));
    expect(text).toContain('first operation that cannot be linearized: p2 read x → 7 [0, 5]');
  });

  it('reports a cas that failed its compare while the register held the value it expected', () => {
    const { text } = expectViolation(history(write(1, 1, 0, 1), cas(2, 1, 2, false, 2, 3), read(2, 1, 4, 5), write(3, 9, 0, 1, 'fail')));
    expect(text).toContain('p2 cas x 1 → 2: false [2, 3]');
  });

  it('shrinks without blaming a cas whose failed compare needs a write that shrinking could remove', () => {
    // Without the stale read, this is linearizable; the write of 2 is what lets the cas fail. A
    // shrinker that removed it (nobody reads 2) would then blame the cas instead of the read.
    const { c } = expectViolation(history(write(1, 1, 0, 1), write(1, 2, 2, 3), read(2, 1, 4, 20), cas(3, 1, 5, false, 5, 6)));
    expect(c.ops.map(describeLinOperation)).toEqual(['p1 write x 1 [0, 1]', 'p1 write x 2 [2, 3]', 'p2 read x → 1 [4, 20]']);
  });

  it('reports a read of a value whose write failed, because a failed write did not happen', () => {
    expectViolation(history(write(1, 7, 0, 1, 'fail'), read(2, 7, 2, 3)));
  });

  it('reports reads that go back in time: a later read returns an older value than an earlier one', () => {
    const { text } = expectViolation(history(write(1, 1, 0, 1), write(1, 2, 2, 20), read(3, 2, 3, 4), read(4, 1, 5, 6)));
    expect(text).toContain('first operation that cannot be linearized: p4 read x → 1 [5, 6]');
  });
});

describe('checkLinearizable accepts linearizable histories', () => {
  it('accepts concurrent writes whichever value, or none, a concurrent read sees', () => {
    for (const seen of [1, 2, null]) {
      expect(verdictOf(history(write(1, 1, 0, 10), write(2, 2, 0, 10), read(3, seen, 5, 15)))).toBe('ok');
    }
    expect(verdictOf(history(write(1, 1, 0, 10), write(2, 2, 0, 10), read(3, 1, 11, 12), read(3, 2, 13, 14)))).toBe('violation');
  });

  it('treats an operation returning at t and one invoked at t as concurrent', () => {
    expect(verdictOf(history(write(1, 1, 0, 5), read(2, null, 5, 6)))).toBe('ok');
    expect(verdictOf(history(read(2, 1, 0, 5), write(1, 1, 5, 6)))).toBe('ok');
    expect(verdictOf(history(write(1, 1, 0, 5), read(2, null, 5.001, 6)))).toBe('violation');
  });

  it('accepts cas that fail their compare, and cas that succeed', () => {
    expect(verdictOf(history(write(1, 1, 0, 1), cas(2, 0, 2, false, 2, 3), read(3, 1, 4, 5), cas(2, 1, 3, true, 6, 7), read(3, 3, 8, 9)))).toBe('ok');
    expect(verdictOf(history(cas(1, 0, 2, false, 0, 1), cas(2, null, 5, true, 2, 3), read(1, 5, 4, 5)))).toBe('ok');
    // A cas whose compare fails concurrently with the write that made it fail.
    expect(verdictOf(history(write(1, 1, 0, 1), write(2, 2, 2, 10), cas(3, 1, 3, false, 3, 4), read(3, 2, 11, 12)))).toBe('ok');
  });

  it('drops failed operations', () => {
    expect(verdictOf(history(write(1, 1, 0, 1), write(2, 2, 2, 3, 'fail'), read(3, 1, 4, 5), cas(2, 1, 9, true, 6, 7, 'fail'), read(3, 1, 8, 9)))).toBe('ok');
  });

  it('checks keys independently: one bad key does not spoil the verdict of the others', () => {
    const keys = Array.from({ length: 50 }, (_, i) => `k${i}`);
    const good = keys.flatMap((k, i) => [write(i, i, 0, 1, 'ok', k), read(i, i, 2, 3, 'ok', k)]);
    const result = checkLinearizable(history(...good));
    expect(result.ok).toBe(true);
    expect(result.keys.map((k) => k.key)).toEqual(keys);
    const bad = checkLinearizable(history(...good, read(1000, 'nope', 5, 6, 'ok', 'k42')));
    expect(bad.ok).toBe(false);
    expect(bad.keys.filter((k) => k.verdict !== 'ok').map((k) => k.key)).toEqual(['k42']);
    expect(bad.failure?.key).toBe('k42');
    expect(bad.counterexample?.[0]).toMatch(/^key "k42" is not linearizable/);
    expect(keyResult(bad, 'k42').counterexample).toEqual(bad.counterexample);
  });

  it('accepts an empty history', () => {
    expect(checkLinearizable([])).toEqual({ ok: true, keys: [] });
  });
});

describe('timed-out (info) operations may take effect at any time after their invoke, or never', () => {
  it('accepts an info write that a read long after sees', () => {
    expect(verdictOf(history(write(1, 1, 0, 1), write(2, 2, 10, 510, 'info'), read(3, 1, 600, 601), read(3, 1, 5000, 5001), read(4, 2, 90_000, 90_001)))).toBe('ok');
  });

  it('accepts an info write that nobody ever sees, and one that never completed', () => {
    expect(verdictOf(history(write(1, 1, 0, 1), write(2, 2, 2, 3, 'info'), read(3, 1, 10, 11), read(4, 1, 20, 21)))).toBe('ok');
    expect(verdictOf(history(write(1, 1, 0, 1), write(2, 2, 2, 3, 'pending'), read(3, 1, 10, 11), read(3, 2, 12, 13)))).toBe('ok');
  });

  it('rejects a read that sees an info write before that write was invoked', () => {
    const { text } = expectViolation(history(write(1, 1, 0, 1), read(3, 2, 2, 3), write(2, 2, 10, 510, 'info')));
    expect(text).toContain('first operation that cannot be linearized: p3 read x → 2 [2, 3]');
  });

  it('rejects an info write that is seen, then undone with no other write', () => {
    expectViolation(history(write(1, 1, 0, 1), write(2, 2, 2, 3, 'info'), read(3, 2, 10, 11), read(3, 1, 20, 21)));
  });

  it('accepts an info cas whether later reads see it applied or not, but not both ways', () => {
    const base = [write(1, 1, 0, 1), cas(2, 1, 2, true, 2, 3, 'info')];
    expect(verdictOf(history(...base, read(3, 2, 4, 5)))).toBe('ok');
    expect(verdictOf(history(...base, read(3, 1, 4, 5), read(3, 1, 6, 7)))).toBe('ok');
    expect(verdictOf(history(...base, read(3, 1, 4, 5), read(3, 2, 6, 7)))).toBe('ok');
    expect(verdictOf(history(...base, read(3, 2, 4, 5), read(3, 1, 6, 7)))).toBe('violation');
  });

  it('ignores an info read: its output is unknown', () => {
    expect(verdictOf(history(write(1, 1, 0, 1), read(2, 99, 2, 3, 'info')))).toBe('ok');
  });

  it('takes unknown writes of the same value in invoke order, so many of them do not multiply the search', () => {
    // 20 timed-out writes of 1 and 20 of 2, then reads alternating 1, 2, 1, ...: each read needs
    // one of them to take effect just before it. 40 reads are explained, 41 are not.
    const writes = Array.from({ length: 40 }, (_, i) => write(100 + i, 1 + (i % 2), i / 10, 10, 'info'));
    const reads = (n: number): LinEvent[][] => Array.from({ length: n }, (_, i) => read(1, 1 + (i % 2), 20 + 2 * i, 21 + 2 * i));
    const started = performance.now();
    expect(checkLinearizable(history(...writes, ...reads(40))).ok).toBe(true);
    const bad = checkLinearizable(history(...writes, ...reads(41)));
    expect(bad.ok).toBe(false);
    expect(bad.failure?.blocked).toMatchObject({ op: 'read', value: 1, call: 100 });
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('sets aside unknown writes nobody observed, so many timeouts do not slow a violation down', () => {
    const unseen = Array.from({ length: 40 }, (_, i) => write(10 + i, 100 + i, 0, 1, 'info'));
    const result = checkLinearizable(history(...unseen, write(1, 1, 0, 1), write(1, 2, 2, 3), read(2, 1, 4, 5)), { budgetMsPerKey: 1000 });
    expect(result.ok).toBe(false);
    expect(keyResult(result)).toMatchObject({ verdict: 'violation', ops: 43, setAside: 40 });
    expect(result.failure?.ops).toHaveLength(3);
  });
});

/** Many concurrent writes and then two reads no order explains: the search must try every order. */
function hardHistory(writers: number, key = 'x'): LinEvent[] {
  const writes = Array.from({ length: writers }, (_, i) => write(i + 1, i + 1, 0, 100, 'ok', key));
  return history(...writes, read(0, 1, 200, 201, 'ok', key), read(0, 2, 202, 203, 'ok', key));
}

describe('checkLinearizable stays within its time budget', () => {
  it('answers unknown instead of hanging when the budget runs out (injected clock)', () => {
    let t = 0;
    const result = checkLinearizable(hardHistory(24), { budgetMsPerKey: 50, now: () => t++ });
    expect(result.ok).toBe('unknown');
    expect(keyResult(result)).toMatchObject({ verdict: 'unknown', exhausted: 'time', ops: 26 });
    // The clock was read once per 1024 steps (plus start and end): deterministic.
    expect(keyResult(result).steps).toBe(51 * 1024);
    const verdict = linVerdict(result);
    expect(verdict).toMatchObject({ checker: linearizabilityName, ok: true, checked: 26, violations: [] });
    expect(verdict.notes).toEqual([expect.stringMatching(/^key "x": unknown: the time budget ran out \(26 operations, 52224 steps, \d+ ms\)$/)]);
    expect(formatLinResult(result)).toMatch(/^unknown \(not proven either way\): 1 keys \(0 ok, 0 violation, 1 unknown\), 26 operations\nkey "x": unknown/);
  });

  it('answers unknown close to the budget on the real clock, and other keys are still checked', () => {
    const started = performance.now();
    const result = checkLinearizable([...hardHistory(24), ...read(99, 5, 0, 1, 'ok', 'y'), ...write(98, 1, 0, 1, 'ok', 'z')], { budgetMsPerKey: 100 });
    expect(performance.now() - started).toBeLessThan(3000);
    expect(result.keys.map((k) => [k.key, k.verdict])).toEqual([['x', 'unknown'], ['y', 'violation'], ['z', 'ok']]);
    expect(result.ok).toBe(false);
  });

  it('decides a small hard history within the default budget', () => {
    expect(checkLinearizable(hardHistory(8)).ok).toBe(false);
  });
});

describe('reports', () => {
  it('formats a result with the offending operation, and adapts it to the checker interface', () => {
    const events = history(write(1, 1, 0, 1, 'ok', 'a'), read(2, 1, 2, 3, 'ok', 'a'), write(3, 'x1', 0, 1, 'ok', 'b'), write(3, 'x2', 2, 3, 'ok', 'b'), read(4, 'x1', 4, 5, 'ok', 'b'));
    const result = checkLinearizable(events);
    const text = formatLinResult(result);
    expect(text.split('\n')[0]).toBe('NOT linearizable: 2 keys (1 ok, 1 violation, 0 unknown), 5 operations');
    expect(text).toMatch(/\nkey "b": violation \(3 operations, \d+ steps, \d+ ms\)\n {2}key "b" is not linearizable/);
    expect(text).toContain('  first operation that cannot be linearized: p4 read b → "x1" [4, 5]');
    expect(text).not.toContain('key "a"');
    const verdict = linVerdict(result);
    expect(verdict.checker).toBe('linearizable');
    expect(verdict.ok).toBe(false);
    expect(verdict.checked).toBe(5);
    expect(verdict.violations).toEqual([
      'key "b" is not linearizable: p4 read b → "x1" [4, 5] cannot take effect after 2 operations (b = "x2"); a failing history of 3 of 3 operations',
    ]);
  });

  it('describes cas and unknown operations readably', () => {
    const ops = linOperations(history(cas(7, null, 1, true, 0, 1), cas(3, 2, 3, false, 4, 5), write(4, 5, 4.25, 6, 'info'), write(6, 6, 9, 10, 'pending'), read(5, 2, 11, 12), read(8, 1, 13, 14, 'info')));
    expect(ops.map(describeLinOperation)).toEqual([
      'p7 cas x null → 1: true [0, 1]',
      'p3 cas x 2 → 3: false [4, 5]',
      'p4 write x 5 [4.25, ∞) info at 6',
      'p6 write x 6 [9, ∞) never completed',
      'p5 read x → 2 [11, 12]',
      'p8 read x → ? [13, ∞) info at 14',
    ]);
  });

  it('without shrinking, shows the whole key with the longest prefix the search found', () => {
    const events = history(write(1, 1, 0, 1), cas(2, 1, 2, true, 2, 3), cas(3, 2, 3, false, 4, 5), write(4, 5, 4.25, 6, 'info'), read(5, 5, 7, 8), read(5, 2, 11, 12));
    const result = checkLinearizable(events, { shrinkBudgetMs: 0 });
    const c = result.failure as LinCounterexample;
    expect(c).toMatchObject({ key: 'x', cutTime: Infinity, shrunk: false, keyOps: 6, state: 5 });
    const text = formatLinCounterexample(c);
    expect(text[0]).toBe('key "x" is not linearizable; a failing history of 6 of its 6 operations (not shrunk):');
    expect(text).toContain('  p3 cas x 2 → 3: false [4, 5]');
    expect(text).toContain('  p5 read x → 2 [11, 12]   ← cannot be linearized');
    expect(text.at(-2)).toBe('first operation that cannot be linearized: p5 read x → 2 [11, 12]');
  });
});

// ---------------------------------------------------------------------------------------------
// Histories of a real sequential register driven by simulated concurrent processes: each
// operation takes effect at one random instant inside its interval (an ok one), at a random instant
// after its invoke or never (info, never completed), or never (fail). Linearizable by construction.

interface StepSpec {
  readonly key: number;
  /** 0–3 read, 4–6 write, 7–9 cas */
  readonly kind: number;
  readonly a: number;
  readonly b: number;
  readonly gap: number;
  readonly duration: number;
  /** Where in its interval (0–1) it takes effect; past 1 only for unknown ones. */
  readonly point: number;
  /** 0–13 ok, 14 fail, 15 info */
  readonly outcome: number;
  /** An unknown operation: whether it takes effect at all. */
  readonly applies: boolean;
}

interface Planned {
  readonly process: number;
  readonly seq: number;
  readonly spec: StepSpec;
  readonly key: string;
  readonly call: number;
  readonly ret: number;
  readonly outcome: Outcome;
  /** When it takes effect; null: never. */
  readonly at: number | null;
}

/** Times in quarter milliseconds, so ties and fractions both happen. */
function plan(processes: readonly (readonly StepSpec[])[], keys: number): Planned[] {
  const out: Planned[] = [];
  processes.forEach((steps, p) => {
    let t = 0;
    steps.forEach((s, seq) => {
      const call = t + s.gap / 4;
      const ret = call + s.duration / 4;
      const last = seq === steps.length - 1;
      let outcome: Outcome = s.outcome <= 13 ? 'ok' : s.outcome === 14 ? 'fail' : 'info';
      if (outcome === 'info' && last && s.applies) outcome = 'pending';
      const unknown = outcome === 'info' || outcome === 'pending';
      const at = outcome === 'ok' ? call + (ret - call) * Math.min(1, s.point) : unknown && s.applies ? call + (ret - call) * s.point * 3 : null;
      out.push({ process: p + 1, seq, spec: s, key: `k${s.key % keys}`, call, ret, outcome, at });
      t = ret;
    });
  });
  return out;
}

/** Runs the register in the order the operations take effect and records what each returned. */
function record(planned: readonly Planned[], smallValues: boolean): LinEvent[] {
  const state = new Map<string, LinScalar>();
  let unique = 0;
  const fresh = (n: number): LinScalar => (smallValues ? n % 4 : ++unique * 10 + (n % 10));
  const inputs = new Map<Planned, { v: LinScalar; from: LinScalar }>();
  const outputs = new Map<Planned, { read?: LinScalar; casOk?: boolean }>();
  const effects = planned.filter((o) => o.at !== null).sort((x, y) => (x.at ?? 0) - (y.at ?? 0));
  for (const o of effects) {
    const current = state.get(o.key) ?? null;
    if (o.spec.kind <= 3) {
      outputs.set(o, { read: current });
      continue;
    }
    const v = fresh(o.spec.a);
    // A cas expects the current value half the time, so that some apply even with unique values.
    const from = o.spec.kind <= 6 ? null : o.spec.b % 2 === 0 ? current : fresh(o.spec.b);
    inputs.set(o, { v, from });
    if (o.spec.kind <= 6 || current === from) state.set(o.key, v);
    if (o.spec.kind > 6) outputs.set(o, { casOk: current === from });
  }
  // Process after process, not in time order: the checker sorts.
  return planned.flatMap((o) => {
    const { v, from } = inputs.get(o) ?? { v: fresh(o.spec.a), from: fresh(o.spec.b) };
    const out = outputs.get(o) ?? {};
    if (o.spec.kind <= 3) return read(o.process, out.read ?? null, o.call, o.ret, o.outcome, o.key);
    if (o.spec.kind <= 6) return write(o.process, v, o.call, o.ret, o.outcome, o.key);
    return cas(o.process, from, v, out.casOk ?? false, o.call, o.ret, o.outcome, o.key);
  });
}

function stepArb(): fc.Arbitrary<StepSpec> {
  return fc.record({
    key: fc.nat(7),
    kind: fc.nat(9),
    a: fc.nat(1000),
    b: fc.nat(1000),
    gap: fc.nat(12),
    duration: fc.nat(40),
    point: fc.double({ min: 0, max: 1.2, noNaN: true }),
    outcome: fc.nat(15),
    applies: fc.boolean(),
  });
}

const historyArb = fc.record({
  processes: fc.array(fc.array(stepArb(), { maxLength: 12 }), { minLength: 1, maxLength: 7 }),
  keys: fc.integer({ min: 1, max: 3 }),
  smallValues: fc.boolean(),
});

function generated(h: { processes: StepSpec[][]; keys: number; smallValues: boolean }): LinEvent[] {
  return record(plan(h.processes, h.keys), h.smallValues);
}

/** Indexes of ok reads in the events. */
function okReads(events: readonly LinEvent[]): number[] {
  return events.flatMap((e, i) => (e.type === 'ok' && e.op === 'read' ? [i] : []));
}

function withReadValue(events: readonly LinEvent[], index: number, value: LinScalar): LinEvent[] {
  return events.map((e, i) => (i === index ? { ...e, value } : e));
}

describe('checkLinearizable on histories of a real register under concurrent processes', () => {
  it('accepts every such history, and JSON lines round-trip it', () => {
    fc.assert(
      fc.property(historyArb, (h) => {
        const events = generated(h);
        const result = checkLinearizable(events);
        expect(result.keys.filter((k) => k.verdict !== 'ok')).toEqual([]);
        expect(result.ok).toBe(true);
        expect(parseLinHistoryJsonl(linHistoryToJsonl(events))).toEqual(events);
      }),
      { numRuns: 400 },
    );
  });

  it('rejects such a history once one read returns a value never written, on that read\'s key', () => {
    fc.assert(
      fc.property(historyArb, fc.nat(), (h, pick) => {
        const events = generated(h);
        const reads = okReads(events);
        fc.pre(reads.length > 0);
        const index = reads[pick % reads.length] as number;
        const bad = events[index] as LinEvent;
        const result = checkLinearizable(withReadValue(events, index, 'never written'));
        expect(result.ok).toBe(false);
        expect(result.keys.filter((k) => k.verdict !== 'ok').map((k) => k.key)).toEqual([bad.key]);
        const c = result.failure as LinCounterexample;
        expect(c.ops.some((o) => o.op === 'read' && o.process === bad.process && o.ret === bad.time && o.value === 'never written')).toBe(true);
        expect(formatLinCounterexample(c).join('\n')).toContain(`read ${bad.key} → "never written"`);
        expect(checkLinearizable(c.events).ok).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('blames the one read whose result was changed: every counterexample found contains it', () => {
    // The history without that read is linearizable, so a counterexample that does not contain it
    // would be an artefact of shrinking (a removal that the whole history does not justify).
    let violations = 0;
    fc.assert(
      fc.property(historyArb, fc.nat(), fc.nat(), (h, pick, other) => {
        const events = generated(h);
        const reads = okReads(events);
        fc.pre(reads.length > 0);
        const index = reads[pick % reads.length] as number;
        const bad = events[index] as LinEvent;
        const written = [...new Set(linOperations(events).filter((o) => o.key === bad.key && o.op !== 'read').map((o) => o.value))];
        fc.pre(written.length > 0);
        const result = checkLinearizable(withReadValue(events, index, written[other % written.length] as LinScalar));
        if (result.ok !== false) return;
        violations++;
        const c = result.failure as LinCounterexample;
        expect(c.ops.some((o) => o.op === 'read' && o.process === bad.process && o.ret === bad.time)).toBe(true);
      }),
      { numRuns: 600 },
    );
    expect(violations).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------------------------------------
// Against a naive reference: try every order of the operations that respects real time.

function naiveLinearizable(ops: readonly LinOperation[]): boolean {
  const todo = ops.filter((o) => o.known || o.op !== 'read');
  const placed = new Array<boolean>(todo.length).fill(false);
  const go = (state: LinScalar): boolean => {
    // Unknown operations may never take effect: done once every known one is placed.
    if (todo.every((o, i) => placed[i] || !o.known)) return true;
    for (let i = 0; i < todo.length; i++) {
      const o = todo[i] as LinOperation;
      if (placed[i] || todo.some((p, j) => !placed[j] && p.known && p.ret < o.call)) continue;
      const nexts: LinScalar[] = [];
      if (o.op === 'read' && state === o.value) nexts.push(state);
      if (o.op === 'write') nexts.push(o.value);
      if (o.op === 'cas' && (o.known ? o.casOk : true) && state === o.from) nexts.push(o.value);
      if (o.op === 'cas' && o.known && !o.casOk && state !== o.from) nexts.push(state);
      for (const next of nexts) {
        placed[i] = true;
        const found = go(next);
        placed[i] = false;
        if (found) return true;
      }
    }
    return false;
  };
  return go(null);
}

const smallOpArb = fc.record({
  kind: fc.nat(2),
  v: fc.constantFrom<LinScalar>(null, 1, 2, 3),
  from: fc.constantFrom<LinScalar>(null, 1, 2),
  casOk: fc.boolean(),
  call: fc.nat(12),
  duration: fc.nat(6),
  outcome: fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'fail', 'info', 'pending'),
});

describe('checkLinearizable agrees with a naive search over every order', () => {
  it('on small random histories, most of them not linearizable; its counterexamples fail on their own', () => {
    let violations = 0;
    fc.assert(
      fc.property(fc.array(smallOpArb, { minLength: 1, maxLength: 8 }), (specs) => {
        const events = specs.flatMap((s, p) =>
          s.kind === 0 ? read(p, s.v, s.call, s.call + s.duration, s.outcome)
          : s.kind === 1 ? write(p, s.v, s.call, s.call + s.duration, s.outcome)
          : cas(p, s.from, s.v, s.casOk, s.call, s.call + s.duration, s.outcome));
        const expected = naiveLinearizable(linOperations(events));
        const result = checkLinearizable(events);
        expect(result.ok).toBe(expected);
        if (!expected) {
          violations++;
          const c = result.failure as LinCounterexample;
          expect(c.ops.length).toBeLessThanOrEqual(specs.length);
          expect(naiveLinearizable(linOperations(c.events))).toBe(false);
        }
      }),
      { numRuns: 2000 },
    );
    expect(violations).toBeGreaterThan(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Speed: long single-key histories from the same generator, seeded so the figures are reproducible.

/** One key; `infoOneIn`: about one operation in that many times out (the rest: one in 16 fails). */
function bigHistory(seed: number, processes: number, opsPerProcess: number, smallValues: boolean, infoOneIn = 16): LinEvent[] {
  const step = stepArb().map((s) => ({ ...s, key: 0, gap: s.gap % 3, outcome: s.outcome === 15 && s.a % Math.round(infoOneIn / 16) !== 0 ? 14 : s.outcome }));
  const [h] = fc.sample(
    fc.record({
      processes: fc.array(fc.array(step, { minLength: opsPerProcess, maxLength: opsPerProcess }), {
        minLength: processes,
        maxLength: processes,
      }),
      keys: fc.constant(1),
      smallValues: fc.constant(smallValues),
    }),
    { seed, numRuns: 1 },
  );
  return generated(h as { processes: StepSpec[][]; keys: number; smallValues: boolean });
}

describe('checkLinearizable is fast on long histories', () => {
  it('checks about 2000 operations on one key with 5 to 10 processes well under a second', () => {
    for (const [processes, smallValues] of [[5, false], [8, false], [8, true], [10, true]] as const) {
      const events = bigHistory(42, processes, Math.round(2000 / processes), smallValues);
      const started = performance.now();
      const result = checkLinearizable(events);
      const ms = performance.now() - started;
      const k = keyResult(result, 'k0');
      console.log(`linearizability: ${k.ops} ops, ${processes} processes, ${smallValues ? 'values 0-3' : 'unique values'}: ${k.verdict} in ${ms.toFixed(0)} ms (${k.steps} steps, ${k.setAside} set aside)`);
      expect(k.verdict).toBe('ok');
      expect(k.ops).toBeGreaterThan(1500);
      expect(ms).toBeLessThan(2000);
    }
  });

  it('finds a stale read in such a history and shrinks it to a few operations', () => {
    const events = bigHistory(7, 8, 250, false);
    const reads = okReads(events);
    // A late read returns the value of the first completed write instead.
    const firstWrite = linOperations(events).find((o) => o.op === 'write' && o.known) as LinOperation;
    const index = reads[Math.floor(reads.length * 0.8)] as number;
    const started = performance.now();
    const result = checkLinearizable(withReadValue(events, index, firstWrite.value));
    const ms = performance.now() - started;
    const c = result.failure as LinCounterexample;
    console.log(`linearizability: stale read found and shrunk to ${c.ops.length} of ${c.keyOps} ops in ${ms.toFixed(0)} ms:\n${formatLinCounterexample(c).join('\n')}`);
    expect(result.ok).toBe(false);
    expect(c.shrunk).toBe(true);
    expect(c.ops.length).toBeLessThanOrEqual(8);
    expect(c.blocked.value).toBe(firstWrite.value);
    expect(ms).toBeLessThan(2000);
  });

  it('proves a late read of a value never written among few values, where every order up to it must be tried', () => {
    for (const [processes, infoOneIn] of [[5, 64], [8, 64], [10, 256]] as const) {
      const events = bigHistory(11, processes, Math.round(2000 / processes), true, infoOneIn);
      const reads = okReads(events);
      const index = reads[Math.floor(reads.length * 0.9)] as number;
      const started = performance.now();
      const result = checkLinearizable(withReadValue(events, index, 'never written'));
      const ms = performance.now() - started;
      const k = keyResult(result, 'k0');
      console.log(`linearizability: bad read among values 0-3, ${processes} processes, 1 in ${infoOneIn} info: ${k.verdict} in ${ms.toFixed(0)} ms (${k.steps} steps)`);
      expect(k.verdict).toBe('violation');
      expect(k.failure?.ops.map((o) => o.value)).toEqual(['never written']);
    }
  });

  it('finds a stale read among few values; its counterexample is sound, if not small', () => {
    const events = bigHistory(11, 8, 250, true, 256);
    const index = okReads(events)[Math.floor(okReads(events).length * 0.9)] as number;
    const others = [0, 1, 2, 3].filter((v) => v !== (events[index] as LinEvent).value);
    const results = others.map((v) => checkLinearizable(withReadValue(events, index, v)));
    const bad = results.find((r) => r.ok === false);
    expect(bad).toBeDefined();
    const c = bad?.failure as LinCounterexample;
    console.log(`linearizability: stale read among values 0-3, 8 processes: counterexample of ${c.ops.length} of ${c.keyOps} ops`);
    expect(c.ops.length).toBeLessThan(c.keyOps / 2);
    expect(checkLinearizable(c.events).ok).toBe(false);
  });
});
