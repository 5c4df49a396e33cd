/** Starting and stopping the processes of a benchmark: free ports, readiness, clean shutdown. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

export const terndbBin = fileURLToPath(new URL('../../bin/terndb.js', import.meta.url));

/** `count` consecutive free ports on 127.0.0.1. */
export async function freeBlock(count: number): Promise<number> {
  const free = (port: number) =>
    new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
  for (;;) {
    const base = 30_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await free(p);
    if (ok) return base;
  }
}

export async function waitFor(url: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not come up`);
}

/** A node process (`terndb ...` or another script) with the benchmark's heap settings. */
export function start(args: string[], cwd: string): ChildProcess {
  return spawn(process.execPath, ['--max-semi-space-size=64', ...args], { cwd, stdio: 'ignore' });
}

export async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(children.map((c) => (c.exitCode !== null ? undefined : new Promise<void>((r) => (c.once('exit', () => r()), c.kill('SIGTERM'))))));
}
