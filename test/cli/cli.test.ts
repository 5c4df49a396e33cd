/**
 * The `terndb` command as users run it: a real process on the compiled build (npm test builds
 * first), checking output and exit codes (docs/api.md: 0 ok, 1 a checker failed, 2 bad usage).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const bin = new URL('../../bin/terndb.js', import.meta.url).pathname;

function terndb(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('terndb command line', () => {
  it('a reader that stops early (| head) ends the output quietly: exit 0, no EPIPE stack', async () => {
    // The reader is gone before the command writes anything (as `| head -0`, or head done early).
    const child = spawn(process.execPath, [bin, 'sim', '--seed', '3', '--faults', 'none'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(err).not.toMatch(/EPIPE/);
    expect(code).toBe(0);
  }, 120_000);

  it('status takes host:port as well as a URL, and says what to do when nothing answers', () => {
    const r = terndb('status', '--url', '127.0.0.1:9');
    expect(r.code).toBe(1);
    expect(r.err).toContain('cannot reach 127.0.0.1:9');
    expect(r.err).not.toMatch(/Invalid URL/);
  });

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

  it('a bad configuration file exits 2 naming the field', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tern-cfg-'));
    try {
      const file = path.join(dir, 'c.yaml');
      writeFileSync(file, 'cluster: x\nregions:\n  - name: us-east\n    node: { id: a, api: "127.0.0.1:notaport", peer: "127.0.0.1:1", data: d }\n');
      const r = terndb('node', '--config', file, '--node', 'us-east');
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/regions\[0\]\.node\.api: must be "host:port"/);
      writeFileSync(file, 'cluster: x\nregions: []\ntables: {}\n');
      expect(terndb('wan', '--config', file).err).toMatch(/regions: must be a non-empty list/);
      writeFileSync(file, 'cluster: x\nregions:\n  - { name: a, node: { id: a, api: "127.0.0.1:1", peer: "127.0.0.1:2", data: d } }\n  - { name: b, node: { id: b, api: "127.0.0.1:3", peer: "127.0.0.1:4", data: d } }\n');
      expect(terndb('node', '--config', file, '--node', 'a').err).toMatch(/regions\[1\]\.node\.data: data directory .* is also used by regions\[0\]\.node\.data/);
      writeFileSync(file, 'cluster: x\nregions:\n  - { name: a, node: { id: a, api: "127.0.0.1:1", peer: "127.0.0.1:2", data: d } }\nsettings: { sessionWaitMs: 20000 }\n');
      expect(terndb('node', '--config', file, '--node', 'a').err).toMatch(/settings\.sessionWaitMs/);
      writeFileSync(file, 'cluster: x\nregions:\n  - name: us-east\n    node: { id: a, api: "127.0.0.1:1", peer: "127.0.0.1:2", data: d }\ntables:\n  t: { fields: { f: blob } }\n');
      const t = terndb('node', '--config', file, '--node', 'us-east');
      expect(t.code).toBe(2);
      expect(t.err).toMatch(/tables\.t\.fields\.f/);
      // Secure by default: a valid file with neither tls nor insecure: true is refused, saying how to make certificates.
      writeFileSync(file, 'cluster: x\nregions:\n  - { name: a, node: { id: a, api: "127.0.0.1:1", peer: "127.0.0.1:2", data: d } }\n');
      const plain = terndb('node', '--config', file, '--node', 'a');
      expect(plain.code).toBe(2);
      expect(plain.err).toMatch(/no tls section.*\n.*terndb cert create-ca --cluster x/);
      expect(plain.err).toMatch(/insecure: true/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('failover settings that contradict each other exit 2 naming the field, before anything starts', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tern-cfg-'));
    try {
      const file = path.join(dir, 'c.yaml');
      const two = 'cluster: x\nregions:\n  - { name: a, node: { id: a, api: "127.0.0.1:1", peer: "127.0.0.1:2", data: da } }\n  - { name: b, node: { id: b, api: "127.0.0.1:3", peer: "127.0.0.1:4", data: db } }\n';
      const refused = (yaml: string, pattern: RegExp) => {
        writeFileSync(file, yaml);
        const r = terndb('node', '--config', file, '--node', 'a');
        expect(r.code, r.err).toBe(2);
        expect(r.err).toMatch(pattern);
      };
      // A lease that a renewal cannot outlive across an election (renew + 2 × election + offset).
      refused(`${two}settings: { leaseMs: 2000 }\n`, /settings\.leaseMs: must be at least renewMs \+ 2 × raftElectionMs \+ maxClockOffsetMs \(1000 \+ 2 × 1000 \+ 500 = 3500 ms\)/);
      refused(`${two}settings: { raftElectionMs: 3000 }\n`, /settings\.leaseMs/);
      refused(`${two}settings: { renewMs: 1600 }\n`, /settings\.leaseMs: .*\(1600 \+ 2 × 1000 \+ 500 = 4100 ms\)/);
      refused(`${two}settings: { readReadyLagMs: 500 }\n`, /settings\.readReadyLagMs: must be at least writeReadyLagMs/);
      refused(`${two}settings: { failoverOrder: { a: [mars] } }\n`, /settings\.failoverOrder\.a\[0\]: mars is not a region/);
      refused(`${two}settings: { failoverOrder: { a: [a] } }\n`, /settings\.failoverOrder\.a\[0\]: a cannot take over its own rows/);
      refused(`${two}settings: { failoverOrder: { zz: [b] } }\n`, /settings\.failoverOrder\.zz/);
      // home-with-failover with nowhere to fail over to.
      refused('cluster: x\nregions:\n  - { name: a, node: { id: a, api: "127.0.0.1:1", peer: "127.0.0.1:2", data: da } }\ntables:\n  t: { ownership: home-with-failover, home: { region: a } }\n', /tables\.t\.ownership: home-with-failover needs a second region/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every command has --help', () => {
    for (const args of [['--help'], ['demo', '--help'], ['node', '--help'], ['wan', '--help'], ['status', '--help'], ['sim', '--help'], ['bench', '--help'], ['errors', '--help'], ['backup', '--help'], ['restore', '--help']]) {
      const r = terndb(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.out).toMatch(/Usage: terndb/);
    }
  });

  it('status, backup and restore take --cacert and --token-file, with an example of a secure cluster in --help', () => {
    for (const command of ['status', 'backup', 'restore']) {
      const r = terndb(command, '--help');
      expect(r.out, command).toMatch(/--cacert <file> +(with --from: )?PEM file of the cluster CA to trust/);
      expect(r.out, command).toMatch(/--token-file <file> +(with --from: )?file holding a token/);
      expect(r.out, command).toContain('TERN_TOKEN');
      expect(r.out, command).toMatch(new RegExp(`^  terndb ${command} .*--cacert certs/ca\\.crt --token-file \\S+`, 'm'));
    }
  });

  it('a bad --cacert or --token-file exits 2 naming the flag, and a token is never printed', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tern-access-'));
    try {
      const secret = 'Zm9vYmFyLXNlY3JldC1ub3QtdG8tYmUtc2hvd24xMjM';
      const good = path.join(dir, 'root.token');
      writeFileSync(good, `root.${secret}\n`);
      const bad = path.join(dir, 'bad.token');
      writeFileSync(bad, `Bearer root.${secret}\n`);
      const noCa = terndb('status', '--url', '127.0.0.1:9', '--cacert', path.join(dir, 'ca.crt'), '--token-file', good);
      expect(noCa.code).toBe(2);
      expect(noCa.err).toMatch(/^terndb status: --cacert .*ca\.crt: cannot read it/);
      const badToken = terndb('backup', '--url', '127.0.0.1:9', '--out', path.join(dir, 'b'), '--token-file', bad);
      expect(badToken.code).toBe(2);
      expect(badToken.err).toMatch(/^terndb backup: --token-file .*bad\.token does not hold a token/);
      const unreachable = terndb('status', '--url', '127.0.0.1:9', '--token-file', good);
      expect(unreachable.code).toBe(1);
      expect(unreachable.err).toContain('cannot reach 127.0.0.1:9');
      for (const r of [noCa, badToken, unreachable]) expect(r.out + r.err).not.toContain(secret);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('docs/errors.md is the generated error table', () => {
    const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
    expect(terndb('errors', '--markdown').out).toBe(doc);
  });
});
