/**
 * Running the demo: start the WAN emulator and one node per region, wait until each answers as the
 * process the demo started, print the endpoints (with pids) and the tour, then supervise until
 * Ctrl-C or SIGTERM, which stop everything. Resolves with the exit code.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { demoCluster, demoLinkPorts, demoNodeId, demoPorts } from './config.js';
import { waitNodeReady, waitRouterReady, waitWanReady } from './readiness.js';
import { byHand, exitOf, readable, shown, Supervisor, type Managed } from './supervisor.js';
import { tour, type DemoAccess } from './tour.js';

export interface RunInput {
  readonly regions: readonly string[];
  readonly portBase: number;
  readonly dataDir: string;
  readonly configPath: string;
  /** null: leave a dead node down (--no-restart). */
  readonly restartDelayMs: number | null;
  /** A secure demo's CA and root token: their files, and where curl finds them (CURL_HOME); null with --insecure. */
  readonly access?: DemoAccess | null;
}

/** How long the processes get to come up on a busy machine before the demo gives up. */
const startTimeoutMs = 90_000;

export async function runDemo({ regions, portBase: b, dataDir, configPath, restartDelayMs, access = null }: RunInput): Promise<number> {
  const bin = fileURLToPath(new URL('../../../bin/terndb.js', import.meta.url));
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  let settle: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (settle = resolve));
  let finishing = false;
  const finish = (code: number) => {
    if (finishing) return;
    finishing = true;
    void sup.stopAll().then(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      settle(code);
    });
  };
  const sup = new Supervisor({ bin, dataDir, restartDelayMs, out, err, onFatal: () => finish(1) });
  // Installed before anything starts: a Ctrl-C while the regions come up stops what did start.
  // Kept until everything has stopped, so a second Ctrl-C cannot leave children behind.
  const onSignal = () => {
    if (!finishing) out('\nStopping every process…');
    finish(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const n = regions.length;
  // A secure demo's APIs serve HTTPS with certificates of its own CA: the demo's own waits trust it.
  const scheme = access === null ? 'http' : 'https';
  if (access !== null) await (await import('../../server/trust-ca.js')).trustCa(readFileSync(access.caFile, 'utf8'));
  out(`Starting a ${n}-region Tern cluster in ${dataDir}`);
  let wan: Managed;
  let router: Managed;
  const nodes: Managed[] = [];
  try {
    wan = sup.start('wan', 'the WAN emulator', ['wan', '--config', configPath]);
    const control = b + demoPorts.wanControl;
    const links = demoLinkPorts({ regions, portBase: b }, dataDir);
    await waitWanReady(`http://127.0.0.1:${control}/v1/wan`, `port ${control} (WAN control API)`, links, { gone: () => exitOf(wan.child), timeoutMs: startTimeoutMs, signal: sup.signal });
    out(`  the WAN emulator is up; waiting until every region is write-ready…`);
    await Promise.all(
      regions.map(async (region, i) => {
        const port = b + demoPorts.api(i);
        const expected = { url: `${scheme}://127.0.0.1:${port}/readyz`, cluster: demoCluster, node: demoNodeId(region), where: `port ${port} (${region} API)` };
        const node = sup.start(region, `region ${region}`, ['node', '--config', configPath, '--node', region], expected);
        nodes[i] = node;
        try {
          await waitNodeReady(expected, { gone: () => exitOf(node.child), timeoutMs: startTimeoutMs, signal: sup.signal });
        } catch (e) {
          // An exit is seen before the last output is read: wait for it (briefly) to show the tail.
          if (exitOf(node.child) !== null && !node.closed) await new Promise((r) => (node.child.once('close', r), setTimeout(r, 1_000)));
          const tail = node.tail.length > 0 ? `. Its last lines:\n    ${node.tail.map(readable).join('\n    ')}` : '';
          throw new Error(`region ${region}: ${(e as Error).message}; see ${shown(node.log)}${tail}`);
        }
      }),
    );
    router = sup.start('router', 'the router', ['router', '--config', configPath], null, false);
    const rport = b + demoPorts.router;
    await waitRouterReady(`${scheme}://127.0.0.1:${rport}/v1/router/status`, `port ${rport} (router)`, demoCluster, { gone: () => exitOf(router.child), timeoutMs: startTimeoutMs, signal: sup.signal });
  } catch (e) {
    if (!sup.stopping) {
      err(`terndb demo: ${(e as Error).message}`);
      finish(1);
    }
    return done;
  }
  if (sup.stopping) return done;

  const row = (name: string, url: string, m: Managed) => out(`  ${name.padEnd(16)} ${url.padEnd(36)} pid ${String(m.child.pid).padEnd(8)} log: ${shown(m.log)}`);
  out('');
  row('router', `${scheme}://127.0.0.1:${b + demoPorts.router}`, router);
  row('wan emulator', `http://127.0.0.1:${b + demoPorts.wanControl}/v1/wan`, wan);
  regions.forEach((region, i) => row(region, `${scheme}://127.0.0.1:${b + demoPorts.api(i)}`, nodes[i] as Managed));
  out(`  configuration    ${shown(configPath)}`);
  const byHandOf = (region: string) => byHand(bin, ['node', '--config', configPath, '--node', region], path.join(dataDir, `${region}.log`));
  process.stdout.write(tour({ regions, portBase: b, pids: new Map(nodes.map((m) => [m.name, m.child.pid])), restartDelayS: restartDelayMs === null ? null : restartDelayMs / 1000, byHand: byHandOf, access }));
  out(`\nA node that dies is ${restartDelayMs === null ? 'left down (--no-restart)' : `restarted after ${restartDelayMs / 1000} s`}; if the WAN emulator dies, the demo stops.`);
  out('Running. Press Ctrl-C to stop every process.');
  sup.running();
  return done;
}
