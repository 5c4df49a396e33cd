/**
 * The `terndb` command as users run it: a real process on the compiled build (npm test builds
 * first), checking output and exit codes (API.md: 0 ok, 1 a checker failed, 2 bad usage).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/terndb.js', import.meta.url).pathname;

function terndb(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('terndb command line', () => {
  it('sim prints every checker verdict and the same trace hash twice for the same seed', () => {
    const a = terndb('sim', '--seed', '7', '--faults', 'all');
    const b = terndb('sim', '--seed', '7', '--faults', 'all');
    expect(a.code, a.out + a.err).toBe(0);
    for (const checker of ['convergence', 'final-state', 'reads', 'counters', 'sets', 'no-resurrection', 'sessions', 'causal', 'bounded-staleness', 'hlc']) {
      expect(a.out).toMatch(new RegExp(`ok +${checker} `));
    }
    const trace = (s: string) => /trace ([0-9a-f]{8})/.exec(s)?.[1];
    expect(trace(a.out)).toBeDefined();
    expect(trace(a.out)).toBe(trace(b.out));
  });

  it('sim --json prints one JSON object with the verdicts', () => {
    const r = terndb('sim', '--seed', '3', '--ops', '200', '--json');
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out) as { ok: boolean; verdicts: unknown[]; traceHash: string };
    expect(parsed.ok).toBe(true);
    expect(parsed.verdicts.length).toBeGreaterThan(5);
  });

  it('a sweep runs seeds on worker threads and summarises them', () => {
    const r = terndb('sim', '--seeds', '4', '--ops', '300', '--faults', 'all', '--workers', '2');
    expect(r.code, r.out + r.err).toBe(0);
    expect(r.out).toMatch(/^4\/4 seeds passed in [0-9.]+ s/m);
    expect(r.out).toMatch(/coverage: conflictsWriteWrite/);
  });

  it('bad usage exits 2 and says what is wrong', () => {
    const r = terndb('sim', '--faults', 'meteors');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/unknown fault 'meteors'/);
    expect(terndb('sim', '--seed', 'x').code).toBe(2);
    expect(terndb('bench', 'nope').code).toBe(2);
    expect(terndb('frobnicate').code).toBe(2);
  });

  it('every command has --help', () => {
    for (const args of [['--help'], ['sim', '--help'], ['bench', '--help'], ['errors', '--help']]) {
      const r = terndb(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out).toMatch(/Usage: terndb/);
    }
  });

  it('docs/errors.md is the generated error table', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(terndb('errors', '--markdown').out).toBe(doc);
  });
});
