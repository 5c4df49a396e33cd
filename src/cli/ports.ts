/**
 * Port checks before a command starts anything (`terndb demo`, `terndb node`, `terndb wan`): each
 * port it will listen on is bound once on its host and released. A taken port then fails the
 * command within a second, naming the port and what it was for, instead of a node that half
 * starts (storage opened, peers dialled) and dies on its listen, or a demo that waits for a
 * process that answers on another's port.
 */
import net from 'node:net';
import { wanLinkPort, type ClusterConfig, type RegionSpec } from '../server/config.js';

/** A port a command will listen on, and what for (`us-east API`), for the message. */
export interface PortUse {
  readonly host: string;
  readonly port: number;
  readonly what: string;
}

/** The ports a region node listens on: its HTTP API and its peer links. */
export function nodePorts(spec: RegionSpec): PortUse[] {
  return [
    { ...spec.node.bind.api, what: `${spec.name} API` },
    { ...spec.node.bind.peer, what: `${spec.name} peer links` },
  ];
}

/** The ports the WAN emulator listens on: its control API and one link per ordered pair of regions (as src/wan/wan-emulator.ts). */
export function wanPorts(config: ClusterConfig): PortUse[] {
  const wan = config.wan;
  if (wan === null) return [];
  const out: PortUse[] = [{ ...wan.control, what: 'WAN control API' }];
  const n = config.regions.length;
  config.regions.forEach((from, i) =>
    config.regions.forEach((to, j) => {
      if (i !== j) out.push({ host: wan.control.host, port: wanLinkPort(wan, n, i, j), what: `WAN link ${from.name} → ${to.name}` });
    }),
  );
  return out;
}

/** Why one port cannot be listened on (`in use`, `not allowed`...), or null when it can. */
function tryListen(use: PortUse): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') resolve('is in use');
      else if (err.code === 'EACCES') resolve('may not be listened on by this user');
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') resolve(`cannot be listened on: ${use.host} is not an address of this machine`);
      else resolve(`cannot be listened on (${err.code ?? err.message})`);
    });
    // exclusive: a port held by another process of a cluster (Node's cluster module) counts as taken.
    server.listen({ host: use.host, port: use.port, exclusive: true }, () => server.close(() => resolve(null)));
  });
}

/**
 * What already answers on a taken HTTP port, when it is a Tern node or demo (`/livez` names its
 * cluster, region and node); null for anything else. Best effort, a second at most.
 */
async function whoAnswers(use: PortUse): Promise<string | null> {
  // A timer that holds the event loop open: with AbortSignal.timeout's (unref'd) alone, a holder
  // that drops the connection can leave fetch pending on nothing, and Node exits 13 mid-check.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), 1_000);
  try {
    const res = await fetch(`http://${use.host.includes(':') ? `[${use.host}]` : use.host}:${use.port}/livez`, { signal: abort.signal });
    const body = (await res.json()) as { cluster?: unknown; region?: unknown; node?: unknown };
    if (typeof body.cluster === 'string' && typeof body.node === 'string') return `a Tern node of cluster ${body.cluster}, node ${body.node}`;
  } catch {
    // not HTTP, not Tern, or too slow: say nothing rather than guess
  } finally {
    clearTimeout(timer);
  }
  return null;
}

/**
 * One line per port that cannot be listened on: `port 7001 (us-east API) is in use (by a Tern
 * node of cluster demo, node us-east-1)`. Empty when every port is free. The ports are tried
 * one after another so two uses of one port in the list cannot both pass.
 */
export async function portProblems(uses: readonly PortUse[]): Promise<string[]> {
  const problems: string[] = [];
  for (const use of uses) {
    const why = await tryListen(use);
    if (why === null) continue;
    const holder = why === 'is in use' && use.what.endsWith('API') ? await whoAnswers(use) : null;
    problems.push(`port ${use.port} (${use.what}) ${why}${holder !== null ? ` (by ${holder})` : ''}`);
  }
  return problems;
}
