/**
 * The demo's processes: it starts them (output appended to `<name>.log` in --data), and once the
 * demo runs, a region node that dies is reported (exit code or signal, the last lines of its log)
 * and restarted after a delay while the others keep serving, as a real deployment's service
 * manager would. The WAN emulator dying ends the demo: without it no region reaches another.
 * stopAll() stops every process, a node waiting to be restarted included.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { ForeignAnswer, waitNodeReady, type ExpectedNode } from './readiness.js';

export interface SupervisorOptions {
  readonly bin: string;
  readonly dataDir: string;
  /** ms between a node's death and its restart; null: never restart (--no-restart). */
  readonly restartDelayMs: number | null;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
  /** Called once when the demo cannot go on (the WAN emulator died). */
  readonly onFatal: () => void;
}

export interface Managed {
  readonly name: string;
  /** `the WAN emulator`, `region us-east`: for messages. */
  readonly what: string;
  readonly args: readonly string[];
  readonly log: string;
  /** For a node: what its /readyz must name after a restart. */
  readonly expected: ExpectedNode | null;
  /** Its death stops the demo (the WAN emulator: without it no region reaches another). */
  readonly fatal: boolean;
  child: ChildProcess;
  tail: string[];
  /** Whether the current child has exited and all its output was read. */
  closed: boolean;
  restartTimer: NodeJS.Timeout | null;
  /** Deaths since it was last write-ready: a node that never gets there again is left down. */
  deathsInRow: number;
}

const tailLines = 10;
const maxDeathsInRow = 3;

/** SIGTERM (a clean stop), then SIGKILL if it has not exited after 5 s; resolves once it has. */
export function stopChild(child: ChildProcess): Promise<void> {
  if (exitOf(child) !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** `exited with code 1`, `was killed by SIGKILL`, or null while it runs. */
export function exitOf(child: ChildProcess): string | null {
  if (child.exitCode !== null) return `exited with code ${child.exitCode}`;
  if (child.signalCode !== null) return `was killed by ${child.signalCode}`;
  return null;
}

/**
 * A log line for people: the nodes log pino JSON, shown as `13:54:48.718 stage write-ready` (with
 * the error's message for a fatal one); anything else as it is, cut at 300 characters.
 */
export function readable(line: string): string {
  try {
    const e = JSON.parse(line) as { time?: unknown; msg?: unknown; err?: { message?: unknown } };
    if (typeof e.time === 'number' && typeof e.msg === 'string') {
      const err = typeof e.err?.message === 'string' ? `: ${e.err.message}` : '';
      return `${new Date(e.time).toISOString().slice(11, 23)} ${e.msg}${err}`;
    }
  } catch {
    // not JSON: a stack trace, a message from Node itself
  }
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** A path as short as it can be said from where the user stands. */
export function shown(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : p;
}

/** The shell line that starts a process the way the demo does, appending to its log. */
export function byHand(bin: string, args: readonly string[], log: string): string {
  return `node ${shown(bin)} ${args.map((a) => (a.includes('/') ? shown(a) : a)).join(' ')} >> ${shown(log)} 2>&1 &`;
}

export class Supervisor {
  #phase: 'starting' | 'running' | 'stopping' = 'starting';
  readonly #procs: Managed[] = [];
  readonly #abort = new AbortController();
  /** Deaths already handled: 'close' and running() may both see one. */
  readonly #handled = new WeakSet<ChildProcess>();

  constructor(private readonly o: SupervisorOptions) {}

  /** Aborted when the demo stops: waits on its processes end with it. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  get stopping(): boolean {
    return this.#phase === 'stopping';
  }

  start(name: string, what: string, args: readonly string[], expected: ExpectedNode | null = null, fatal = expected === null): Managed {
    const m: Managed = { name, what, args, log: path.join(this.o.dataDir, `${name}.log`), expected, fatal, child: null as unknown as ChildProcess, tail: [], closed: false, restartTimer: null, deathsInRow: 0 };
    this.#spawn(m);
    this.#procs.push(m);
    return m;
  }

  #spawn(m: Managed): void {
    const file = createWriteStream(m.log, { flags: 'a' });
    const child = spawn(process.execPath, ['--max-semi-space-size=64', this.o.bin, ...m.args], { cwd: this.o.dataDir, stdio: ['ignore', 'pipe', 'pipe'] });
    m.child = child;
    m.tail = [];
    m.closed = false;
    let partial = '';
    const keep = (chunk: Buffer) => {
      file.write(chunk);
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      m.tail = [...m.tail, ...lines].slice(-tailLines);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (err) => this.o.err(`${m.what}: ${err.message}`));
    // 'close', not 'exit': by then all its output has been read, so the tail is complete.
    child.once('close', () => {
      if (partial !== '') m.tail = [...m.tail, partial].slice(-tailLines);
      file.end();
      if (m.child !== child) return;
      m.closed = true;
      this.#died(m);
    });
  }

  /** From now on a death is handled here (while starting, the readiness wait reports it). */
  running(): void {
    this.#phase = 'running';
    for (const m of this.#procs) if (m.closed) this.#died(m);
  }

  #died(m: Managed): void {
    if (this.#phase !== 'running' || this.#handled.has(m.child)) return;
    this.#handled.add(m.child);
    const lines = m.tail.map((l) => `    ${readable(l)}`).join('\n');
    this.o.err(`terndb demo: ${m.what} (pid ${m.child.pid}) ${exitOf(m.child)}. Last lines of ${shown(m.log)}:\n${lines || '    (nothing)'}`);
    if (m.fatal) {
      this.o.err(`terndb demo: the regions cannot reach each other without the WAN emulator, so the demo stops.`);
      this.o.onFatal();
      return;
    }
    const hand = `  ${byHand(this.o.bin, m.args, m.log)}\n(the demo does not stop a node you start yourself: kill it when done)`;
    if (this.o.restartDelayMs === null) {
      this.o.err(`terndb demo: --no-restart: ${m.name} stays down; the other regions keep running. To start it again by hand:\n${hand}`);
      return;
    }
    if (m.deathsInRow >= maxDeathsInRow) {
      this.o.err(`terndb demo: ${m.name} died ${maxDeathsInRow} times without becoming write-ready again; it stays down (see ${shown(m.log)}). Once fixed, start it by hand:\n${hand}`);
      return;
    }
    m.deathsInRow++;
    this.o.err(`terndb demo: the other regions keep running; restarting ${m.name} in ${this.o.restartDelayMs / 1000} s.`);
    m.restartTimer = setTimeout(() => {
      m.restartTimer = null;
      if (this.#phase !== 'running') return;
      this.#spawn(m);
      if (m.expected === null) {
        // No readiness to wait for (the router): its deaths are never forgiven, so one that keeps
        // dying is left down after maxDeathsInRow instead of restarted forever.
        this.o.out(`${m.name} restarted: pid ${m.child.pid}`);
        return;
      }
      this.o.out(`${m.name} restarted: pid ${m.child.pid}; its /readyz stages:`);
      void this.#watchRejoin(m, m.child);
    }, this.o.restartDelayMs);
  }

  /** Prints a restarted node's stages until it is write-ready (catching-up, read-ready, write-ready). */
  async #watchRejoin(m: Managed, child: ChildProcess): Promise<void> {
    const expected = m.expected as ExpectedNode;
    try {
      await waitNodeReady(expected, {
        gone: () => exitOf(child),
        timeoutMs: 600_000,
        signal: this.#abort.signal,
        onStage: (stage) => this.o.out(`  ${m.name}: ${stage}`),
      });
      m.deathsInRow = 0;
      this.o.out(`${m.name} is write-ready again (pid ${child.pid})`);
    } catch (err) {
      // Its death is reported by #died, and a stop needs no word; anything else is news.
      if (err instanceof ForeignAnswer || (exitOf(child) === null && !this.stopping)) this.o.err(`terndb demo: ${m.name}: ${(err as Error).message}`);
    }
  }

  /** Stops every process: SIGTERM, then SIGKILL for one that has not exited after 5 s. */
  async stopAll(): Promise<void> {
    this.#phase = 'stopping';
    this.#abort.abort();
    for (const m of this.#procs) if (m.restartTimer !== null) clearTimeout(m.restartTimer);
    await Promise.all(this.#procs.map(({ child }) => stopChild(child)));
  }
}
