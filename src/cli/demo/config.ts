/**
 * The demo's cluster configuration and its port layout. Everything the demo prints (endpoints,
 * tour, --help) derives its ports from here, so they cannot drift from what the nodes listen on.
 */
import { parseConfig, type ClusterConfig } from '../../server/config.js';
import { nodePorts, wanPorts, type PortUse } from '../ports.js';

const knownRtt: Record<string, number> = { 'us-east/eu-west': 80, 'us-east/ap-south': 190, 'eu-west/ap-south': 120 };

/** The demo's cluster name and node ids: its readiness check accepts only these answers. */
export const demoCluster = 'demo';
export const demoNodeId = (region: string): string => `${region}-1`;

export interface DemoLayout {
  readonly regions: readonly string[];
  readonly portBase: number;
}

/** The ports, as offsets from --port-base (docs/api.md, `terndb demo`). */
export const demoPorts = {
  router: 0,
  api: (i: number) => 1 + i,
  wanControl: 50,
  peer: (i: number) => 101 + i,
  wanLinks: 200,
};

function rtt(a: string, b: string, apart: number): number {
  return knownRtt[`${a}/${b}`] ?? knownRtt[`${b}/${a}`] ?? 100 + 20 * apart;
}

/** The region whose rows the `orders` table homes, and which the tour cuts off: the third (or last). */
export function islandIndex(regions: readonly string[]): number {
  return Math.min(2, regions.length - 1);
}

/** The regions that take the island's `orders` rows over, nearest first (the tour names the first). */
export function failoverOrder(regions: readonly string[]): string[] {
  const home = islandIndex(regions);
  const at = (r: string) => regions.indexOf(r);
  return regions.filter((_, i) => i !== home).sort((x, y) => rtt(regions[home] as string, x, Math.abs(at(x) - home)) - rtt(regions[home] as string, y, Math.abs(at(y) - home)));
}

/** The demo's cluster configuration, as written to cluster.yaml. */
/** With `secrets` (secrets.ts), a secure cluster: mutual TLS between regions and a root token; without, plaintext on purpose. */
export function demoConfig(
  { regions, portBase: b }: DemoLayout,
  secrets?: { readonly ca: string; readonly nodes: Readonly<Record<string, { readonly cert: string; readonly key: string }>>; readonly router: { readonly cert: string; readonly key: string }; readonly root: { readonly salt: string; readonly hash: string } },
): Record<string, unknown> {
  const rttMs: Record<string, number> = {};
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) rttMs[`${regions[i]}/${regions[j]}`] = rtt(regions[i] as string, regions[j] as string, j - i);
  }
  const home = regions[islandIndex(regions)] as string;
  // home-with-failover needs somewhere to fail over to; a one-region demo has no orders table.
  const failover = regions.length >= 2;
  return {
    cluster: demoCluster,
    // Without secrets (terndb demo --insecure, the drill): plaintext on purpose, on loopback only.
    ...(secrets === undefined ? { insecure: true } : { tls: { ca: secrets.ca }, auth: { root: secrets.root } }),
    regions: regions.map((name, i) => ({
      name,
      node: { id: demoNodeId(name), api: `127.0.0.1:${b + demoPorts.api(i)}`, peer: `127.0.0.1:${b + demoPorts.peer(i)}`, data: `./${name}`, ...(secrets?.nodes[name] !== undefined ? { tls: secrets.nodes[name] } : {}) },
    })),
    wan: { control: `127.0.0.1:${b + demoPorts.wanControl}`, rttMs, linkPortBase: b + demoPorts.wanLinks },
    // One address for every region (terndb router), preferring the first region.
    router: { api: `127.0.0.1:${b + demoPorts.router}`, region: regions[0], ...(secrets !== undefined ? { tls: secrets.router } : {}) },
    // The strong tables' Raft leader settles in the first region (nearest its peers in the demo).
    settings: { preferredLeader: regions[0], ...(failover ? { failoverOrder: { [home]: failoverOrder(regions) } } : {}) },
    tables: {
      profiles: { mode: 'async', fields: { name: 'lww', visits: 'counter', tags: 'set' } },
      carts: { mode: 'async', fields: { items: 'set', note: 'lww' }, onDeleteUpdate: 'update-wins' },
      accounts: { mode: 'strong', fields: { balance: 'counter' } },
      // One writer per row: the island's while it holds its write lease, the next region's after.
      ...(failover ? { orders: { mode: 'async', ownership: 'home-with-failover', home: { region: home }, fields: { item: 'lww', qty: 'counter' } } } : {}),
      // Multi-writer, but a region cut off from the others stops taking its writes.
      ledger: { mode: 'async', whenIsolated: 'reject', fields: { note: 'lww', amount: 'counter' } },
    },
  };
}

/** The configuration as the nodes will read it (validated), and every port the demo will listen on. */
export function demoPortUses(layout: DemoLayout, dataDir: string): PortUse[] {
  const config: ClusterConfig = parseConfig(demoConfig(layout), dataDir);
  const router = config.router === null ? [] : [{ ...config.router.api, what: 'router API' }];
  return [...router, ...config.regions.flatMap((r) => nodePorts(r)), ...wanPorts(config)].sort((x, y) => x.port - y.port);
}

/** The WAN emulator's link ports of the demo's configuration. */
export function demoLinkPorts(layout: DemoLayout, dataDir: string): number[] {
  return wanPorts(parseConfig(demoConfig(layout), dataDir))
    .filter((p) => p.what.startsWith('WAN link'))
    .map((p) => p.port);
}

/** The port layout for --help, with n regions. */
export function portHelp(): string {
  return `
Ports (B = --port-base, default 7000; n regions, counted from 1; all on 127.0.0.1):
  B                      the router: one address for every region (terndb router)
  B+1 ... B+n            region APIs (us-east B+1, eu-west B+2, ap-south B+3)
  B+50                   WAN emulator control API
  B+101 ... B+100+n      region peer ports (region k on B+100+k)
  B+200 ... B+199+n*n    WAN links: region k to region m on B+200+(k-1)*n+(m-1), k != m
                         (3 regions: B+201 ... B+207, not B+204)`;
}
