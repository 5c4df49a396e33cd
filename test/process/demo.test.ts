/**
 * `terndb demo` as a new user runs it: it comes up, the tour's first commands work, a node killed
 * with kill -9 is reported and restarted while the other regions serve, Ctrl-C stops everything;
 * a demo on taken ports stops before starting or writing anything. One full demo run in all.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, statSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDemoFiles } from '../../src/cli/demo/data-dir.js';
import { ForeignAnswer, waitNodeReady } from '../../src/cli/demo/readiness.js';
import { freePortBlock } from './harness.js';
import { trustCa } from '../../src/server/trust-ca.js';

const bin = new URL('../../bin/terndb.js', import.meta.url).pathname;
const dir = mkdtempSync(path.join(tmpdir(), 'tern-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Polls `check` every 100 ms until it holds; throws with `what` after the deadline. */
async function until(what: () => string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const readyz = async (port: number): Promise<{ status: number; body: any } | null> => {
  try {
    const r = await fetch(`https://127.0.0.1:${port}/readyz`);
    return { status: r.status, body: await r.json() };
  } catch {
    return null;
  }
};

describe('a running demo', () => {
  let base = 0;
  let demo: ChildProcess;
  let out = '';
  let err = '';
  /** Every pid the demo printed (its processes, restarted ones too): killed after the tests whatever happened. */
  const pids = () => [...out.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
  // The demo is secure: every call carries the root token it made in its data folder.
  const token = () => ({ authorization: `Bearer ${readFileSync(path.join(dir, 'data', 'root.token'), 'utf8').trim()}` });

  beforeAll(async () => {
    base = await freePortBlock(220);
    demo = spawn(process.execPath, [bin, 'demo', '--port-base', String(base), '--data', path.join(dir, 'data')], { stdio: ['ignore', 'pipe', 'pipe'] });
    demo.stdout?.on('data', (d) => (out += String(d)));
    demo.stderr?.on('data', (d) => (err += String(d)));
    await until(() => `demo did not start:\n${out}\n${err}`, () => out.includes('Press Ctrl-C') || demo.exitCode !== null, 120_000);
    expect(out, err).toContain('Press Ctrl-C');
    // Its APIs serve HTTPS with certificates of the CA it made: this process's fetch trusts it.
    await trustCa(readFileSync(path.join(dir, 'data', 'certs', 'ca.crt'), 'utf8'));
  }, 150_000);

  afterAll(async () => {
    if (demo.exitCode === null && demo.signalCode === null) {
      const exited = new Promise((resolve) => demo.once('exit', resolve));
      demo.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    }
    for (const pid of [demo.pid ?? 0, ...pids()]) if (pid > 0 && alive(pid)) process.kill(pid, 'SIGKILL');
  }, 30_000);

  it('serves three regions and the tour works', async () => {
    for (const region of ['us-east', 'eu-west', 'ap-south']) expect(out).toMatch(new RegExp(`${region}\\s+https://127\\.0\\.0\\.1:\\d+\\s+pid \\d+`));
    // The router on the base port serves every region, preferring the first.
    expect(out).toMatch(/router\s+https:\/\/127\.0\.0\.1:\d+\s+pid \d+/);
    expect(readFileSync(path.join(dir, 'data', 'cluster.yaml'), 'utf8')).toContain('router');
    // Secure by default: mutual TLS between regions and a root token; the tour says how curl sends it.
    const yaml = readFileSync(path.join(dir, 'data', 'cluster.yaml'), 'utf8');
    expect(yaml).toMatch(/tls:/);
    expect(yaml).toMatch(/auth:/);
    expect(yaml).not.toContain(token().authorization.split('.')[1]);
    expect(statSync(path.join(dir, 'data', 'root.token')).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'data', '.curlrc')).mode & 0o777).toBe(0o600);
    expect(out).toContain(`export CURL_HOME="${path.join(dir, 'data')}"`);
    // The tour's curl lines work as printed once CURL_HOME is set: HTTPS trusted, the token sent.
    const line = /curl -s (https:\/\/127\.0\.0\.1:\d+\/v1\/tables\/profiles\/rows\/ann)\n/.exec(out);
    expect(line, out).not.toBeNull();
    const curl = spawnSync('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', line?.[1] as string], { env: { ...process.env, CURL_HOME: path.join(dir, 'data') }, encoding: 'utf8' });
    expect(curl.stdout).toMatch(/^(200|404)$/);
    // Plain HTTP gets no answer from a secure node.
    await expect(fetch(`http://127.0.0.1:${base + 1}/readyz`)).rejects.toThrow();
    expect((await fetch(`https://127.0.0.1:${base + 1}/v1/tables/profiles/rows/ann`)).status).toBe(401);
    await until(
      () => 'the router sees every region write-ready',
      async () => {
        const s = (await (await fetch(`https://127.0.0.1:${base}/v1/router/status`)).json()) as { cluster: string; regions: Array<{ stage: string | null }> };
        return s.cluster === 'demo' && s.regions.every((x) => x.stage === 'write-ready');
      },
    );
    const api = (i: number) => `https://127.0.0.1:${base + i}`;
    const patch = (i: number, body: unknown) =>
      fetch(`${api(i)}/v1/tables/profiles/rows/ann`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...token() }, body: JSON.stringify(body) });
    expect((await patch(1, { set: { name: 'Ann' }, incr: { visits: 1 } })).status).toBe(200);
    expect((await patch(2, { add: { tags: ['admin'] }, incr: { visits: 1 } })).status).toBe(200);
    let fields: unknown = null;
    await until(
      () => JSON.stringify(fields),
      async () => {
        fields = ((await (await fetch(`${api(3)}/v1/tables/profiles/rows/ann`, { headers: token() })).json()) as { fields: unknown }).fields;
        return JSON.stringify(fields) === JSON.stringify({ name: 'Ann', tags: ['admin'], visits: 2 });
      },
    );
    // The tour's strong transfer: committed through the quorum, read back strongly elsewhere.
    const txn = async (i: number, body: unknown) => {
      const res = await fetch(`${api(i)}/v1/txn`, { method: 'POST', headers: { 'content-type': 'application/json', ...token() }, body: JSON.stringify(body) });
      expect(res.status).toBe(200);
      return (await res.json()) as { succeeded: boolean };
    };
    const open = { compare: [{ table: 'accounts', key: 'alice', op: 'missing' }], success: [{ table: 'accounts', key: 'alice', set: { balance: 100 } }, { table: 'accounts', key: 'bob', set: { balance: 0 } }] };
    expect((await txn(2, open)).succeeded).toBe(true);
    const move = { compare: [{ table: 'accounts', key: 'alice', field: 'balance', op: '>=', value: 30 }], success: [{ table: 'accounts', key: 'alice', incr: { balance: -30 } }, { table: 'accounts', key: 'bob', incr: { balance: 30 } }] };
    expect((await txn(3, move)).succeeded).toBe(true);
    const alice = (await (await fetch(`${api(1)}/v1/tables/accounts/rows/alice?consistency=strong`, { headers: token() })).json()) as { fields: unknown };
    expect(alice.fields).toEqual({ balance: 70 });
  }, 90_000);

  it('a node killed with kill -9 is reported and restarted; the other regions serve meanwhile', async () => {
    const pid = Number(/ap-south\s+https:\/\/\S+\s+pid (\d+)/.exec(out)?.[1]);
    expect(pid).toBeGreaterThan(0);
    process.kill(pid, 'SIGKILL');
    await until(() => `no report of the death:\n${err}`, () => err.includes(`region ap-south (pid ${pid}) was killed by SIGKILL`));
    expect(err).toContain('Last lines of');
    // us-east takes a write and eu-west reads it while ap-south is down (the restart waits 3 s).
    const write = await fetch(`https://127.0.0.1:${base + 1}/v1/tables/profiles/rows/kill9`, { method: 'PATCH', headers: { 'content-type': 'application/json', ...token() }, body: '{"incr":{"visits":1}}' });
    expect(write.status).toBe(200);
    await until(
      () => 'eu-west never read the write',
      async () => (await fetch(`https://127.0.0.1:${base + 2}/v1/tables/profiles/rows/kill9`, { headers: token() })).status === 200,
    );
    // Restarted with a new pid, and write-ready again, answering as the demo's ap-south node.
    await until(() => `not restarted:\n${out}\n${err}`, () => /ap-south restarted: pid \d+/.test(out), 90_000);
    const again = Number(/ap-south restarted: pid (\d+)/.exec(out)?.[1]);
    expect(again).not.toBe(pid);
    const seen: { last: Awaited<ReturnType<typeof readyz>> } = { last: null };
    await until(
      () => `ap-south not write-ready again: ${JSON.stringify(seen.last)}`,
      async () => (seen.last = await readyz(base + 3))?.status === 200,
      120_000,
    );
    expect(seen.last?.body).toMatchObject({ cluster: 'demo', region: 'ap-south', node: 'ap-south-1', stage: 'write-ready' });
    await until(() => out, () => out.includes('ap-south is write-ready again'));
    // It caught up on the write made while it was down.
    await until(
      () => 'ap-south never read the write made while it was down',
      async () => (await fetch(`https://127.0.0.1:${base + 3}/v1/tables/profiles/rows/kill9`, { headers: token() })).status === 200,
    );
    expect(demo.exitCode).toBeNull();
  }, 240_000);

  it('stops every process it started on Ctrl-C', async () => {
    const started = pids();
    expect(started.length).toBeGreaterThanOrEqual(5); // the emulator, three nodes, one restarted node
    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
    for (const port of [base, base + 1, base + 2, base + 3, base + 50, base + 101, base + 201]) expect(await listening(port), `port ${port} still open`).toBe(false);
    expect(started.filter(alive), 'processes still running').toEqual([]);
  }, 60_000);
});

it('on a taken port, exits 1 naming it, before starting anything or rewriting cluster.yaml', async () => {
  const base = await freePortBlock(220);
  const data = path.join(dir, 'taken');
  mkdirSync(data, { recursive: true });
  writeFileSync(path.join(data, 'cluster.yaml'), '# an earlier run\n');
  // us-east's API, and the WAN link eu-west → ap-south (region 2 to region 3 of 3: 200 + 1·3 + 2).
  // Connections (the demo asks who holds an API port) are dropped, so close() does not wait for them.
  const holders = [base + 1, base + 205].map((port) => net.createServer((s) => s.destroy()).listen(port, '127.0.0.1'));
  try {
    await Promise.all(holders.map((h) => new Promise((r) => (h.listening ? r(null) : h.once('listening', r)))));
    const demo = spawn(process.execPath, [bin, 'demo', '--port-base', String(base), '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    demo.stderr.on('data', (d) => (err += String(d)));
    const code = await new Promise<number | null>((resolve) => {
      const guard = setTimeout(() => demo.kill('SIGINT'), 60_000);
      demo.once('exit', (c) => (clearTimeout(guard), resolve(c)));
    });
    expect(code, err).toBe(1);
    expect(err).toContain(`port ${base + 1} (us-east API) is in use; pick another block with --port-base`);
    expect(err).toContain(`port ${base + 205} (WAN link eu-west → ap-south) is in use`);
    expect(readFileSync(path.join(data, 'cluster.yaml'), 'utf8')).toBe('# an earlier run\n');
    expect(readdirSync(data).filter((f) => f.endsWith('.log')), 'no process was started').toEqual([]);
    for (const port of [base, base + 2, base + 3, base + 50, base + 101]) expect(await listening(port), `port ${port}`).toBe(false);
  } finally {
    await Promise.all(holders.map((h) => new Promise((r) => h.close(r))));
  }
}, 90_000);

it('takes no answer from another process for its node', async () => {
  const server = http.createServer((_, res) => res.end(JSON.stringify({ cluster: 'prod', region: 'us-east', node: 'us-east-1', stage: 'write-ready' })));
  await new Promise((r) => server.listen(0, '127.0.0.1', () => r(null)));
  try {
    const port = (server.address() as net.AddressInfo).port;
    const wait = waitNodeReady({ url: `http://127.0.0.1:${port}/readyz`, cluster: 'demo', node: 'us-east-1', where: `port ${port} (us-east API)` }, { gone: () => null, timeoutMs: 30_000 });
    await expect(wait).rejects.toThrow(ForeignAnswer);
    await expect(wait).rejects.toThrow(`port ${port} (us-east API) is answered by cluster "prod", node "us-east-1"`);
  } finally {
    await new Promise((r) => server.close(r));
  }
});

it('--fresh removes only what the demo wrote', () => {
  const data = path.join(dir, 'fresh');
  mkdirSync(path.join(data, 'us-east'), { recursive: true });
  mkdirSync(path.join(data, 'old-region'), { recursive: true });
  mkdirSync(path.join(data, 'eu-west'), { recursive: true });
  for (const f of ['us-east/tern.sqlite', 'us-east/tern.sqlite-wal', 'us-east.log', 'wan.log', 'router.log', 'old-region/tern.sqlite', 'eu-west/tern.sqlite', 'eu-west/notes.txt', 'notes.txt'])
    writeFileSync(path.join(data, f), 'x');
  // The earlier run's regions come from its cluster.yaml; a name that is not a region id is ignored.
  writeFileSync(path.join(data, 'cluster.yaml'), 'cluster: demo\nregions:\n  - name: old-region\n  - name: ..\n');
  const { kept } = removeDemoFiles(data, ['us-east', 'eu-west']);
  expect(kept).toEqual(['eu-west/']);
  expect(readdirSync(data).sort()).toEqual(['eu-west', 'notes.txt']);
  expect(readdirSync(path.join(data, 'eu-west'))).toEqual(['notes.txt']);
  expect(existsSync(path.join(dir, 'fresh'))).toBe(true);
});

it('--help lists every port the demo uses', () => {
  const help = spawnSync(process.execPath, [bin, 'demo', '--help'], { encoding: 'utf8' }).stdout;
  for (const what of ['the router', 'region APIs', 'WAN emulator control API', 'region peer ports', 'WAN links', 'B+1', 'B+50', 'B+101', 'B+200']) expect(help).toContain(what);
});

it('terndb node and terndb wan on a taken port exit 1 naming it (a holder that drops connections too)', async () => {
  const base = await freePortBlock(220);
  const config = path.join(dir, 'taken-node.json');
  const regions = ['a', 'b'].map((name, i) => ({ name, node: { id: `${name}-1`, api: `127.0.0.1:${base + 1 + i}`, peer: `127.0.0.1:${base + 101 + i}`, data: `./${name}` } }));
  writeFileSync(config, JSON.stringify({ cluster: 't', insecure: true, regions, wan: { control: `127.0.0.1:${base + 50}`, linkPortBase: base + 200 } }));
  const holder = net.createServer((s) => s.destroy()).listen(base + 1, '127.0.0.1');
  const wanHolder = net.createServer((s) => s.destroy()).listen(base + 201, '127.0.0.1');
  try {
    await Promise.all([holder, wanHolder].map((h) => new Promise((r) => (h.listening ? r(null) : h.once('listening', r)))));
    const run = (args: string[]) => new Promise<{ code: number | null; err: string }>((resolve) => {
      const p = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d) => (err += String(d)));
      const guard = setTimeout(() => p.kill('SIGKILL'), 60_000);
      p.once('close', (code) => (clearTimeout(guard), resolve({ code, err })));
    });
    const node = await run(['node', '--config', config, '--node', 'a']);
    expect(node.code, node.err).toBe(1);
    expect(node.err).toContain(`terndb node: port ${base + 1} (a API) is in use`);
    expect(existsSync(path.join(dir, 'a')), 'the node opened no storage').toBe(false);
    const wan = await run(['wan', '--config', config]);
    expect(wan.code, wan.err).toBe(1);
    expect(wan.err).toContain(`terndb wan: port ${base + 201} (WAN link a → b) is in use`);
    expect(await listening(base + 50)).toBe(false);
  } finally {
    await Promise.all([holder, wanHolder].map((h) => new Promise((r) => h.close(r))));
  }
}, 90_000);
