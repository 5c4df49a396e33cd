/**
 * `terndb bench snapshot`: bounded history with real processes (issue 9, "Numbers";
 * docs/internals/replication.md, "Bounded history"). Three regions on 127.0.0.1 through the WAN
 * emulator; ap-south (the region that will rejoin) is SIGKILLed, us-east takes N rows of about
 * 300 bytes as fast as it accepts them (64 writers), and the bench
 * 1. samples us-east's and eu-west's `logBytes` (`/v1/status`) every second: how fast the logs
 *    grow while ap-south is away, their peak, and their size once ap-south is evicted, against
 *    the window's bound (growth rate × `retention.logMs`);
 * 2. restarts ap-south once it is evicted and the rows are written, and measures its rejoin: time
 *    from the process's start to `/readyz` 200, and from its log lines (and the donor's) the steps:
 *    eviction learnt and readmission, the donor's copy, the chunk transfer (MB/s), the install;
 * 3. samples VmRSS and VmHWM (`/proc/<pid>/status`) of every node every 200 ms: the peak RSS of
 *    the donor (the region the receiver's log names) during the rejoin, and of the receiver.
 *
 * The snapshot is fetched over the donor's HTTP API, not through the WAN emulator's peer links.
 * So that the fetch pays the round trip too, the receiver is started with a configuration of its
 * own naming, for each other region, an API address that is a delaying TCP proxy in this process
 * (rtt / 2 each way, the emulator's DelayPipe) in front of that region's real API. Figures are
 * printed, never asserted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { DelayPipe } from '../wan/delay-pipe.js';
import { freeBlock, start, stopAll, terndbBin, waitFor } from './processes.js';
import { median } from './load.js';
import { nodeLimits } from '../server/limits.js';

export interface SnapshotBenchOptions {
  /** Rows written while the rejoining region is away. */
  readonly rows: number;
  /** Round trip between the rejoining region and each other region (ms). */
  readonly rttMs: number;
  /** retention.logMs for the run (idempotencyRetentionMs = it, conflictsMs = twice it). */
  readonly windowMs: number;
}

export const snapshotBenchDefaults: SnapshotBenchOptions = { rows: 1_000_000, rttMs: 120, windowMs: 60_000 };

const writer = 'us-east';
const member = 'eu-west';
const rejoiner = 'ap-south';
const regions = [writer, member, rejoiner];
/** The round trip between the two regions that stay (the other benches' us-east/eu-west). */
const membersRttMs = 80;
const writersInFlight = 64;
/** The row's payload: with the key and the field names, about 300 bytes of JSON per row. */
const payloadChars = 270;
const logSampleMs = 1_000;
const rssSampleMs = 200;
/** A log is collected once it is down to this share of its peak (and at most a few MB): the steady state starts there. */
const collectedShare = 0.02;

const MB = 1_000_000;
const MiB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number, digits = 1) => `${(bytes / MB).toFixed(digits)} MB`;
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
const s = (ms: number, digits = 1) => `${(ms / 1000).toFixed(digits)} s`;
const int = (n: number) => Math.round(n).toLocaleString('en-US');

interface LogSample {
  /** Date.now() of the sample. */
  readonly t: number;
  readonly written: number;
  readonly bytes: Record<string, number | null>;
  /** Size of the region's database file and its write-ahead log. */
  readonly file: Record<string, number>;
}

interface RssSample {
  readonly t: number;
  readonly region: string;
  readonly rss: number;
  readonly hwm: number;
}

interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly [k: string]: unknown;
}

interface Status {
  readonly stage: string;
  readonly reason: string | null;
  readonly logBytes: number;
  readonly evictions: ReadonlyArray<{ region: string; through: number | null }>;
}

async function json<T>(url: string): Promise<T | null> {
  try {
    const r = await fetch(url);
    return r.ok ? ((await r.json()) as T) : null;
  } catch {
    return null;
  }
}

/** VmRSS and VmHWM of a process, in bytes (null once it is gone). */
function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

function readLog(file: string): LogLine[] {
  if (!existsSync(file)) return [];
  const out: LogLine[] = [];
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    if (!l.startsWith('{')) continue;
    try {
      const o = JSON.parse(l) as LogLine;
      if (typeof o.time === 'number' && typeof o.msg === 'string') out.push(o);
    } catch {
      // a line cut short by a kill
    }
  }
  return out;
}

/** Least-squares slope of y over x (per unit of x). */
function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const num = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0);
  const den = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  return den === 0 ? NaN : num / den;
}

/** What crossed a proxy from the donor towards the receiver: bytes, when, and the longest silence between two reads. */
interface Wire {
  bytes: number;
  firstAt: number;
  lastAt: number;
  longestGapMs: number;
  longestGapAt: number;
}

/** A TCP proxy in front of `target` that delays every byte by `oneWayMs` in each direction. */
async function delayingProxy(port: number, target: { host: string; port: number }, oneWayMs: number, wire: Wire): Promise<{ close(): void }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
    upstream.on('data', (chunk: Buffer) => {
      const now = Date.now();
      if (wire.bytes === 0) wire.firstAt = now;
      else if (now - wire.lastAt > wire.longestGapMs) {
        wire.longestGapMs = now - wire.lastAt;
        wire.longestGapAt = now;
      }
      wire.bytes += chunk.length;
      wire.lastAt = now;
    });
    const pipes = [new DelayPipe(client, upstream, () => oneWayMs), new DelayPipe(upstream, client, () => oneWayMs)];
    let closed = 0;
    for (const sock of [client, upstream]) {
      sock.setNoDelay(true);
      sockets.add(sock);
      sock.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
      sock.on('close', () => {
        sockets.delete(sock);
        if (++closed === 2) for (const p of pipes) p.close();
      });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    close: () => {
      for (const sock of sockets) sock.destroy();
      server.close();
    },
  };
}

/** One row write (PATCH) over a keep-alive agent: the answer's status (0: the request failed). */
function patch(agent: http.Agent, port: number, key: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'PATCH', path: `/v1/tables/items/rows/${key}`, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

const rowKey = (i: number) => `row-${String(i).padStart(7, '0')}`;

export async function runSnapshotBench(print: (line: string) => void, o: SnapshotBenchOptions = snapshotBenchDefaults): Promise<void> {
  const progress = (line: string) => process.stderr.write(`  … ${line}\n`);
  const dir = mkdtempSync(path.join(tmpdir(), 'tern-bench-snapshot-'));
  const nodes = new Map<string, ChildProcess>();
  const others: ChildProcess[] = [];
  const proxies: Array<{ close(): void }> = [];
  const timers: NodeJS.Timeout[] = [];
  let failed = false;
  const stopEverything = async () => {
    for (const t of timers) clearInterval(t);
    for (const p of proxies) p.close();
    await stopAll([...nodes.values(), ...others]);
    if (!failed) rmSync(dir, { recursive: true, force: true });
    else {
      // Keep the logs and the configuration for a look; the data (hundreds of MB) goes.
      for (const f of readdirSync(dir)) if (!f.endsWith('.log') && !f.endsWith('.json')) rmSync(path.join(dir, f), { recursive: true, force: true });
      process.stderr.write(`snapshot bench: the nodes' logs are in ${dir}\n`);
    }
  };
  // Stop what we started on Ctrl-C or a kill too, not only on failure.
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\nsnapshot bench: ${signal}, stopping the nodes, the emulator and the proxies\n`);
    failed = true;
    void stopEverything().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const command = `npm run bench -- snapshot --rows ${o.rows} --rtt-ms ${o.rttMs} --window-ms ${o.windowMs}`;
  print(
    `snapshot bench: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} at start`,
  );
  print(`command: ${command}`);
  print(
    `3 regions through the WAN emulator: ${rejoiner} ${o.rttMs} ms from ${writer} and from ${member}, ${writer}/${member} ${membersRttMs} ms; retention.logMs ${o.windowMs} (idempotencyRetentionMs the same, conflictsMs twice), logBytesMax and snapshotMBps at their defaults (1 GiB, 64 MB/s); nodes run as docs/deploy.md runs them, "node bin/terndb.js node" without V8 flags (RSS is one of the figures)`,
  );
  print(
    `the snapshot goes over the donor's HTTP API, not the emulator's peer links: ${rejoiner} is started with its own configuration naming delaying TCP proxies (${o.rttMs / 2} ms each way, in the bench process) as the other regions' API addresses, so each chunk request pays the ${o.rttMs} ms round trip`,
  );
  print(`MB = 10^6 bytes; RSS in MiB; the bench's writers, the nodes, the emulator and the proxies share the machine`);
  try {
    const base = await freeBlock(200);
    const apiPort = (r: string) => base + 1 + regions.indexOf(r);
    const proxyPort = (r: string) => base + 20 + regions.indexOf(r);
    const api = (r: string) => `http://127.0.0.1:${apiPort(r)}`;
    const rtt: Record<string, number> = { [`${writer}/${member}`]: membersRttMs, [`${writer}/${rejoiner}`]: o.rttMs, [`${member}/${rejoiner}`]: o.rttMs };
    const cluster = (viaProxies: boolean) => ({
      cluster: 'bench-snapshot',
      insecure: true,
      regions: regions.map((name) => ({
        name,
        node: {
          id: name,
          api: `127.0.0.1:${viaProxies && name !== rejoiner ? proxyPort(name) : apiPort(name)}`,
          peer: `127.0.0.1:${base + 60 + regions.indexOf(name)}`,
          data: `./${name}`,
        },
      })),
      wan: { control: `127.0.0.1:${base + 50}`, rttMs: rtt, linkPortBase: base + 100 },
      tables: { items: { fields: { name: 'lww', body: 'lww' } } },
      settings: { idempotencyRetentionMs: o.windowMs },
      retention: { logMs: o.windowMs, conflictsMs: 2 * o.windowMs },
    });
    const config = path.join(dir, 'cluster.json');
    const rejoinConfig = path.join(dir, 'cluster-rejoin.json');
    writeFileSync(config, JSON.stringify(cluster(false), null, 2));
    writeFileSync(rejoinConfig, JSON.stringify(cluster(true), null, 2));
    const logFile = (r: string) => path.join(dir, `${r}.log`);
    const startNode = (r: string, file: string) => {
      const fd = openSync(logFile(r), 'a');
      const child = spawn(process.execPath, [terndbBin, 'node', '--config', file, '--node', r], { cwd: dir, stdio: ['ignore', fd, fd] });
      closeSync(fd);
      nodes.set(r, child);
      return child;
    };

    progress('starting the WAN emulator and three nodes');
    others.push(start([terndbBin, 'wan', '--config', config], dir));
    await waitFor(`http://127.0.0.1:${base + 50}/v1/wan`);
    for (const r of regions) startNode(r, config);
    for (const r of regions) await waitFor(`${api(r)}/readyz`);

    // Memory of every node, all along.
    const rss: RssSample[] = [];
    timers.push(
      setInterval(() => {
        const t = Date.now();
        for (const [region, child] of nodes) {
          if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) continue;
          const m = memoryOf(child.pid);
          if (m !== null) rss.push({ t, region, ...m });
        }
      }, rssSampleMs),
    );

    const agent = new http.Agent({ keepAlive: true, maxSockets: writersInFlight });
    const filler = Array.from({ length: payloadChars * 2 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789'[(i * 7919) % 36]).join('');
    const body = (i: number) => JSON.stringify({ set: { name: `n${i}`, body: filler.slice(i % payloadChars, (i % payloadChars) + payloadChars) } });
    progress(`a few rows before ${rejoiner} goes away, seen by every region`);
    for (let i = 0; i < 100; i++) if ((await patch(agent, apiPort(writer), `before-${i}`, body(i))) !== 200) throw new Error(`${writer} refused a write before the run`);
    for (let i = 0; (await json(`${api(rejoiner)}/v1/tables/items/rows/before-99`)) === null; i++) {
      if (i > 300) throw new Error(`${rejoiner} did not receive the first rows`);
      await sleep(100);
    }

    // 1. ap-south goes away; us-east takes the rows; the logs are sampled.
    const victim = nodes.get(rejoiner) as ChildProcess;
    await new Promise<void>((r) => (victim.once('exit', () => r()), victim.kill('SIGKILL')));
    nodes.delete(rejoiner);
    const killedAt = Date.now();
    progress(`${rejoiner} SIGKILLed; writing ${int(o.rows)} rows to ${writer} with ${writersInFlight} in flight`);

    let written = 0;
    let writeErrors = 0;
    let proposedAt = NaN;
    let decidedAt = NaN;
    let writesEndAt = NaN;
    const logSamples: LogSample[] = [];
    const sampleLogs = async () => {
      const t = Date.now();
      const [a, b] = await Promise.all([json<Status>(`${api(writer)}/v1/status`), json<Status>(`${api(member)}/v1/status`)]);
      const file = (r: string) => ['', '-wal'].reduce((sum, suffix) => sum + (statSync(path.join(dir, r, `tern.sqlite${suffix}`), { throwIfNoEntry: false })?.size ?? 0), 0);
      logSamples.push({ t, written, bytes: { [writer]: a?.logBytes ?? null, [member]: b?.logBytes ?? null }, file: { [writer]: file(writer), [member]: file(member) } });
      const e = a?.evictions.find((x) => x.region === rejoiner);
      if (e !== undefined && Number.isNaN(proposedAt)) {
        proposedAt = t;
        progress(`${writer} lists ${rejoiner} as being evicted (${s(t - killedAt)} after the kill)`);
      }
      if (e !== undefined && e.through !== null && Number.isNaN(decidedAt)) {
        decidedAt = t;
        progress(`${rejoiner} evicted through ${e.through} (${s(t - killedAt)} after the kill); ${writer}'s log holds ${mb(a?.logBytes ?? NaN)}`);
      }
    };
    let sampling = false;
    timers.push(
      setInterval(() => {
        if (sampling) return;
        sampling = true;
        void sampleLogs().finally(() => (sampling = false));
      }, logSampleMs),
    );
    let lastReport = Date.now();
    let lastWritten = 0;
    timers.push(
      setInterval(() => {
        const now = Date.now();
        const last = logSamples.at(-1);
        const state = !Number.isNaN(decidedAt) ? 'evicted' : !Number.isNaN(proposedAt) ? 'being evicted' : 'not evicted yet';
        if (Number.isNaN(writesEndAt)) {
          progress(
            `${int(written)} / ${int(o.rows)} rows (${int(((written - lastWritten) * 1000) / (now - lastReport))} rows/s), ${writeErrors} refused; log ${writer} ${mb(last?.bytes[writer] ?? NaN)}, ${member} ${mb(last?.bytes[member] ?? NaN)}; ${rejoiner} ${state}`,
          );
        }
        lastReport = now;
        lastWritten = written;
      }, 10_000),
    );

    let next = 0;
    const writeStart = Date.now();
    await Promise.all(
      Array.from({ length: writersInFlight }, async () => {
        while (next < o.rows) {
          const i = next++;
          for (let attempt = 0; ; attempt++) {
            const status = await patch(agent, apiPort(writer), rowKey(i), body(i));
            if (status === 200) {
              written++;
              break;
            }
            writeErrors++;
            if (attempt >= 20) throw new Error(`${writer} refused row ${i} 20 times (last answer ${status})`);
            await sleep(50 * (attempt + 1));
          }
        }
      }),
    );
    writesEndAt = Date.now();
    agent.destroy();
    const writeMs = writesEndAt - writeStart;
    progress(`${int(written)} rows written in ${s(writeMs)} (${int((written * 1000) / writeMs)} rows/s, ${writeErrors} refused and retried)`);

    if (Number.isNaN(decidedAt)) progress(`waiting for ${rejoiner}'s eviction (window ${s(o.windowMs)})`);
    for (const deadline = Date.now() + o.windowMs + 180_000; Number.isNaN(decidedAt); ) {
      if (Date.now() > deadline) throw new Error(`${rejoiner} was not evicted within the window + 180 s`);
      await sleep(200);
    }
    // The logs after the writes: a few samples once collection has caught up.
    const peakSoFar = () => logSamples.reduce((a, x) => Math.max(a, x.bytes[writer] ?? 0), 0);
    for (const deadline = Date.now() + 300_000; Date.now() < deadline; ) {
      const last = logSamples.at(-1);
      if (last !== undefined && last.t > decidedAt && (last.bytes[writer] ?? Infinity) <= Math.max(MB, collectedShare * peakSoFar())) break;
      await sleep(500);
    }
    await sleep(5_000);

    // 2. ap-south comes back, through proxies that delay its API calls to the others.
    const wires = new Map<string, Wire>();
    for (const r of [writer, member]) {
      const wire: Wire = { bytes: 0, firstAt: NaN, lastAt: NaN, longestGapMs: 0, longestGapAt: NaN };
      wires.set(r, wire);
      proxies.push(await delayingProxy(proxyPort(r), { host: '127.0.0.1', port: apiPort(r) }, o.rttMs / 2, wire));
    }
    const before = new Map([writer, member].map((r) => [r, memoryOf(nodes.get(r)?.pid ?? -1)]));
    progress(`restarting ${rejoiner}`);
    const restartedAt = Date.now();
    startNode(rejoiner, rejoinConfig);
    let readyAt = NaN;
    let shown = 0;
    // The rejoin as the logs tell it: every line of the receiver's (but the lease table's), and the members' about it.
    const showProgress = () => {
      const lines = regions
        .flatMap((r) => readLog(logFile(r)).map((l) => ({ r, l })))
        .filter(({ r, l }) => l.time >= restartedAt && (r === rejoiner ? !l.msg.startsWith('write lease of') : /snapshot|readmi|ap-south/i.test(l.msg) || l['peer'] === rejoiner))
        .sort((a, b) => a.l.time - b.l.time);
      for (const { r, l } of lines.slice(shown)) progress(`${r} +${s(l.time - restartedAt)}: ${l.msg}${typeof l['chunks'] === 'string' ? ` (${l['chunks']} chunks)` : ''}`);
      shown = Math.max(shown, lines.length);
    };
    for (let lastShown = 0; ; ) {
      const r = await fetch(`${api(rejoiner)}/readyz`).catch(() => null);
      if (r !== null) await r.arrayBuffer().catch(() => undefined);
      if (r?.status === 200) {
        readyAt = Date.now();
        break;
      }
      if (nodes.get(rejoiner)?.exitCode !== null) throw new Error(`${rejoiner} exited (code ${String(nodes.get(rejoiner)?.exitCode)}) while rejoining`);
      if (Date.now() - restartedAt > 30 * 60_000) throw new Error(`${rejoiner} not write-ready 30 min after its restart`);
      if (Date.now() - lastShown >= 1_000) {
        showProgress();
        lastShown = Date.now();
      }
      await sleep(100);
    }
    showProgress();
    await sleep(2 * rssSampleMs);
    progress(`${rejoiner} write-ready ${s(readyAt - restartedAt)} after its start; checking it holds the rows`);
    for (const key of ['before-0', rowKey(0), rowKey(o.rows - 1)]) {
      for (let i = 0; (await json(`${api(rejoiner)}/v1/tables/items/rows/${key}`)) === null; i++) {
        if (i > 100) throw new Error(`${rejoiner} does not hold ${key} after its rejoin`);
        await sleep(100);
      }
    }
    for (const t of timers) clearInterval(t);
    timers.length = 0;

    // 3. The figures.
    const rlog = readLog(logFile(rejoiner)).filter((l) => l.time >= restartedAt);
    const installed = rlog.find((l) => l.msg.startsWith('installed a snapshot'));
    if (installed === undefined) throw new Error(`${rejoiner} became write-ready without logging a snapshot install`);
    const donor = String(installed['donor']);
    const snapshotBytes = Number(installed['bytes']);
    const installMsLogged = Number(installed['ms']);
    const attempts = rlog.filter((l) => l.msg.startsWith('evicted from stability and being readmitted')).filter((l) => l.time <= installed.time);
    const fetchStart = attempts.at(-1)?.time ?? NaN;
    const fetched = rlog.filter((l) => /^snapshot \d+% fetched$/.test(l.msg) && l.time <= installed.time);
    const fetchedAt = fetched.find((l) => l.msg === 'snapshot 100% fetched')?.time ?? NaN;
    const learnt = rlog.find((l) => l.msg === 'stage catching-up (snapshot)')?.time ?? NaN;
    const asked = rlog.find((l) => l.msg.startsWith('asked to be readmitted'))?.time ?? NaN;
    const acked = Math.max(...[writer, member].map((r) => readLog(logFile(r)).find((l) => l.time >= restartedAt && l.msg.startsWith('acknowledged the readmission'))?.time ?? NaN));
    const wire = wires.get(donor) as Wire;
    const made = readLog(logFile(donor)).filter((l) => l.msg.startsWith('made a snapshot') && l.time >= fetchStart && l.time <= fetchedAt);
    const madeAt = made.at(-1)?.time ?? NaN;
    const transferMs = fetchedAt - madeAt;
    const during = (region: string, from: number, to: number) => rss.filter((x) => x.region === region && x.t >= from && x.t <= to);
    const peak = (xs: readonly RssSample[]) => xs.reduce((a, x) => Math.max(a, x.rss), 0);
    const donorRejoin = during(donor, restartedAt, readyAt);
    const donorFetch = during(donor, fetchStart, fetchedAt);
    const donorHwm = rss.filter((x) => x.region === donor).reduce((a, x) => Math.max(a, x.hwm), 0);
    const receiver = during(rejoiner, restartedAt, readyAt + 2 * rssSampleMs);
    const receiverHwm = receiver.reduce((a, x) => Math.max(a, x.hwm), 0);
    const writerWrite = during(writer, writeStart, writesEndAt);

    // The installed copy, once the nodes are stopped: how much of it is rows, how much free pages.
    await stopAll([...nodes.values()]);
    nodes.clear();
    const db = new Database(path.join(dir, rejoiner, 'tern.sqlite'), { readonly: true });
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const freePages = db.pragma('freelist_count', { simple: true }) as number;
    const stored = db.prepare("SELECT count(*) AS n, avg(length(value)) AS avg FROM rows WHERE tbl = 'items'").get() as { n: number; avg: number };
    db.close();

    // Logs: growth while ap-south was away and not yet evicted, peak, steady state after eviction.
    const figuresFor = (region: string) => {
      const pts = logSamples.filter((x) => x.bytes[region] !== null).map((x) => [x.t, x.bytes[region] as number] as const);
      const growing = pts.filter(([t]) => t >= Math.max(killedAt, writeStart) && t < Math.min(Number.isNaN(proposedAt) ? Infinity : proposedAt, writesEndAt));
      const growthPerSec = slope(growing) * 1000;
      const peakBytes = pts.reduce((a, [, y]) => Math.max(a, y), 0);
      const threshold = Math.max(MB, collectedShare * peakBytes);
      const collectedAt = pts.find(([t, y]) => t >= decidedAt && y <= threshold)?.[0] ?? NaN;
      const whileWriting = pts.filter(([t]) => t >= collectedAt && t <= writesEndAt).map(([, y]) => y);
      const afterWrites = pts.filter(([t]) => t >= Math.max(collectedAt, writesEndAt + 2_000)).map(([, y]) => y);
      return { growthPerSec, bound: (growthPerSec * o.windowMs) / 1000, peakBytes, threshold, collectedAt, whileWriting, afterWrites, growingSamples: growing.length };
    };
    const logs: Record<string, ReturnType<typeof figuresFor>> = { [writer]: figuresFor(writer), [member]: figuresFor(member) };
    const growingRows = logSamples.filter((x) => x.t >= writeStart && x.t < Math.min(Number.isNaN(proposedAt) ? Infinity : proposedAt, writesEndAt));
    const rowsPerSecAway = slope(growingRows.map((x) => [x.t, x.written] as const)) * 1000;
    const bytesPerRow = (logs[writer]?.growthPerSec ?? NaN) / rowsPerSecAway;
    // The collection after the eviction: from the decision until the writer's log is down to
    // 2% of its peak (at least 1 MB), and the rows it accepted meanwhile.
    const at = (t: number) => logSamples.reduce<LogSample | undefined>((a, x) => (x.t <= t ? x : a), undefined);
    const wl = logs[writer] as ReturnType<typeof figuresFor>;
    const collectMs = wl.collectedAt - decidedAt;
    const collectRate = (((at(wl.collectedAt)?.written ?? NaN) - (at(decidedAt)?.written ?? NaN)) * 1000) / collectMs;
    const beforeRate = (((at(proposedAt)?.written ?? NaN) - (at(proposedAt - 30_000)?.written ?? 0)) * 1000) / Math.min(30_000, proposedAt - writeStart);

    print('');
    print(`| figure | value | bound or target |`);
    print('|---|---|---|');
    print(`| rows written to ${writer} while ${rejoiner} was away (${payloadChars}-character payload, ~300 bytes of JSON per row) | ${int(written)} in ${s(writeMs)}: ${int((written * 1000) / writeMs)} rows/s (${writeErrors} refused and retried) | |`);
    print(`| ${rejoiner} evicted: listed / decided, after the SIGKILL | ${s(proposedAt - killedAt)} / ${s(decidedAt - killedAt)} | window ${s(o.windowMs)} |`);
    print(`| ${writer}'s collection after the eviction: decided → its log down to ${mb(wl.threshold)}; rows/s it accepted meanwhile (in the 30 s before the eviction) | ${Number.isNaN(collectMs) ? 'not seen' : collectMs < logSampleMs ? `within one sample (${s(logSampleMs, 0)}); (${int(beforeRate)} rows/s)` : `${s(collectMs)}; ${int(collectRate)} rows/s (${int(beforeRate)} rows/s)`}${wl.collectedAt > writesEndAt ? ', partly after the writes ended' : ''} | |`);
    for (const r of [writer, member]) {
      const f = logs[r];
      if (f === undefined) continue;
      const steady = f.whileWriting.length >= 3 ? f.whileWriting : f.afterWrites;
      const when = f.whileWriting.length >= 3 ? `while writing, once collected (${f.whileWriting.length} samples, ${s(f.collectedAt - decidedAt)} after the eviction on)` : `after the writes ended (${f.afterWrites.length} samples; the collection ended too late to sample it while writing)`;
      print(`| ${r}'s log (\`logBytes\`) while ${rejoiner} was away: growth before the eviction | ${mb(f.growthPerSec, 2)}/s (${f.growingSamples} samples${r === writer ? `, at ${int(rowsPerSecAway)} rows/s: ${bytesPerRow.toFixed(0)} bytes per row` : ''}) | |`);
      print(`| ${r}'s log: peak | ${mb(f.peakBytes)} | |`);
      print(`| ${r}'s log: **bound** = growth × window | **${mb(f.bound)}** | |`);
      print(`| ${r}'s database file (tern.sqlite and its -wal): at the eviction / once collected / when the writes ended / at ${rejoiner}'s restart | ${[proposedAt, f.collectedAt, writesEndAt, restartedAt].map((t) => mb(at(t)?.file[r] ?? NaN, 0)).join(' / ')} | |`);
      print(`| ${r}'s log: **steady state** after the eviction, median (max) | **${mb(median(steady), 2)}** (${mb(Math.max(...steady), 2)}), ${when} | ≤ bound: ${median(steady) <= f.bound ? 'met' : '**missed**'} |`);
    }
    print(`| snapshot (the donor's database) | ${mb(snapshotBytes)} (${int(snapshotBytes)} bytes, ${int(Math.ceil(snapshotBytes / MiB))} chunks of 1 MiB), donor ${donor} | ~300 MB for 1,000,000 rows |`);
    print(`| the copy ${rejoiner} installed, at the end: rows, stored bytes per row, free pages | ${int(stored.n)} rows of ${stored.avg.toFixed(0)} bytes on average (encoded CRDT state); ${int(pages)} pages of ${pageSize} bytes, ${int(freePages)} free (${((100 * freePages) / pages).toFixed(0)}%: pages of trimmed logs, shipped with the copy) | |`);
    print(`| ${rejoiner} start → fetch started: eviction learnt (stage catching-up, snapshot) / both members acknowledged the readmission / its readmission proposal answered / fetch started | ${s(learnt - restartedAt)} / ${s(acked - restartedAt)} / ${s(asked - restartedAt)} / ${s(fetchStart - restartedAt)}${attempts.length > 1 ? ` (${attempts.length} attempts)` : ''} | |`);
    print(`| donor's copy made (SQLite online backup, chunk and file SHA-256) | ${s(madeAt - fetchStart)} | |`);
    print(`| **transfer**: copy made → 100% fetched | ${s(transferMs)}: **${((snapshotBytes / MB) * 1000 / transferMs).toFixed(1)} MB/s** | throttle ${64} MB/s |`);
    print(`| on the wire (the proxy in front of ${donor}): bytes, first → last byte, longest silence | ${mb(wire.bytes)} in ${s(wire.lastAt - wire.firstAt)}: ${((wire.bytes / MB) * 1000 / (wire.lastAt - wire.firstAt)).toFixed(1)} MB/s; longest silence ${s(wire.longestGapMs, 2)} (${s(wire.longestGapAt - restartedAt)} after the start) | at most ${nodeLimits.snapshotChunksInFlight} chunks of 1 MiB per round trip: ${((nodeLimits.snapshotChunksInFlight * MiB) / MB / (o.rttMs / 1000)).toFixed(1)} MB/s |`);
    print(`| whole fetch (the \`installed\` log line: bytes / ms, copy and install included) | ${s(installMsLogged)}: ${((snapshotBytes / MB) * 1000 / installMsLogged).toFixed(1)} MB/s | |`);
    print(`| install (file checksum, prepare, swap): 100% fetched → installed | ${s(installed.time - fetchedAt)} | |`);
    print(`| installed → write-ready | ${s(readyAt - installed.time)} | |`);
    print(`| **${rejoiner} start → \`/readyz\` 200 (write-ready)** | **${s(readyAt - restartedAt)}** | |`);
    print(`| **donor (${donor}) peak RSS** during the rejoin (sampled every ${rssSampleMs} ms), during the fetch | **${mib(peak(donorRejoin))}**, ${mib(peak(donorFetch))} (before the rejoin ${mib(before.get(donor)?.rss ?? NaN)}; VmHWM over its life ${mib(donorHwm)}) | ≤ 256 MB: ${peak(donorRejoin) <= 256 * MiB ? 'met' : '**missed**'} |`);
    print(`| **receiver (${rejoiner}) peak RSS** (VmHWM, its whole life: the rejoin); sampled peak before the fetch / during it / installing / installed → write-ready | **${mib(receiverHwm)}**; ${[during(rejoiner, restartedAt, fetchStart), during(rejoiner, fetchStart, fetchedAt), during(rejoiner, fetchedAt, installed.time), during(rejoiner, installed.time, readyAt + 2 * rssSampleMs)].map((xs) => mib(peak(xs))).join(' / ')} | ≤ 256 MB: ${receiverHwm <= 256 * MiB ? 'met' : '**missed**'} |`);
    print(`| ${writer} peak RSS while taking the rows (sampled) | ${mib(peak(writerWrite))} | |`);
    print(`load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await stopEverything();
  }
}
