/**
 * The tour the demo prints once every region is write-ready: copy-and-paste curl lines against the
 * running demo. Each line has been run against a demo (test/process/demo.test.ts runs the first
 * ones); the ports and the island's pid come from the running demo, so they paste as printed.
 */
import { demoPorts, failoverOrder, islandIndex } from './config.js';

export interface TourInput {
  readonly regions: readonly string[];
  readonly portBase: number;
  /** Each region node's pid, for the kill -9 section. */
  readonly pids: ReadonlyMap<string, number | undefined>;
  /** Seconds before the demo restarts a dead node, or null with --no-restart. */
  readonly restartDelayS: number | null;
  /** How to start a node by hand (--no-restart). */
  readonly byHand: (region: string) => string;
  /** A secure demo's CA and root token (their files, and the folder of the .curlrc that uses them); null: --insecure. */
  readonly access?: DemoAccess | null;
}

/** How a secure demo is called: its APIs serve HTTPS with certificates of the demo's CA, and want the root token. */
export interface DemoAccess {
  readonly curlHome: string;
  readonly tokenFile: string;
  readonly caFile: string;
}

const json = "-H 'content-type: application/json'";

export function tour({ regions, portBase: b, pids, restartDelayS, byHand, access = null }: TourInput): string {
  // A secure demo's APIs are HTTPS: curl must be told (a bare host:port is HTTP to it).
  const scheme = access === null ? '' : 'https://';
  const api = (i: number) => `${scheme}127.0.0.1:${b + demoPorts.api(i)}`;
  const wan = `127.0.0.1:${b + demoPorts.wanControl}`;
  const router = `${scheme}127.0.0.1:${b + demoPorts.router}`;
  const [r1, r2, r3] = [0, Math.min(1, regions.length - 1), islandIndex(regions)];
  const island = regions[r3] as string;
  const patch = (i: number, table: string, key: string, body: string) => `curl -s -X PATCH ${api(i)}/v1/tables/${table}/rows/${key} ${json} -d '${body}'`;
  const parts = [
    `
Tour (copy and paste):
${
  access === null
    ? ''
    : `
  # This cluster is secure: the APIs serve HTTPS with certificates of the demo's own CA, the
  # regions talk over mutual TLS, and every call needs a token. curl trusts the CA
  # (${access.caFile}) and sends the root token (${access.tokenFile}) from the .curlrc here:
  export CURL_HOME="${access.curlHome}"
  # (or add --cacert '${access.caFile}' -H "authorization: Bearer $(cat '${access.tokenFile}')" to each line)
  # terndb's own commands (terndb get, terndb status, ...) read the same files from these:
  export TERN_CACERT="${access.caFile}" TERN_TOKEN_FILE="${access.tokenFile}"
`
}
  # Write the same row in two regions at once: different fields, and a counter.
  ${patch(r1, 'profiles', 'ann', '{"set":{"name":"Ann"},"incr":{"visits":1}}')}
  ${patch(r2, 'profiles', 'ann', '{"add":{"tags":["admin"]},"incr":{"visits":1}}')}

  # A moment later every region holds both writes merged (visits: 2).
  curl -s ${api(r3)}/v1/tables/profiles/rows/ann

  # Now a real conflict: the same field, written in two regions at once.
  ${patch(r1, 'profiles', 'ann', '{"set":{"name":"Ann B."}}')} & \\
  ${patch(r3, 'profiles', 'ann', '{"set":{"name":"Annie"}}')}; wait

  # A moment later every region agrees on the winner, and the conflict feed (same ids
  # everywhere) shows the loser.
  sleep 1
  curl -s ${api(r2)}/v1/tables/profiles/rows/ann
  curl -s ${api(r2)}/v1/conflicts

  # One address for every region: the router sends each request to a region that can serve it,
  # ${regions[r1]} first (its own), or the region a client names; then the nearest.
  curl -s ${router}/v1/tables/profiles/rows/ann
  curl -si ${router}/v1/tables/profiles/rows/ann -H 'tern-client-region: ${regions[r2]}' | grep -i '^tern-region'
  curl -s ${router}/v1/router/status
`,
  ];
  if (regions.length >= 2) {
    parts.push(`
  # Cut ${island} off, write on both sides, heal, and watch it converge.
  curl -s -X POST ${wan}/v1/wan/partition -d '{"isolate":"${island}"}'
  ${patch(r3, 'profiles', 'bob', '{"incr":{"visits":5}}')}
  ${patch(r1, 'profiles', 'bob', '{"incr":{"visits":7}}')}
  curl -s ${api(r1)}/v1/tables/profiles/rows/bob          # 7: the island's write cannot arrive
  curl -s -X POST ${wan}/v1/wan/heal
  sleep 2
  curl -s ${api(r1)}/v1/tables/profiles/rows/bob          # 12, in every region
`);
  }
  parts.push(`
  # A strong table: writes commit through a quorum (Raft), and a transaction commits only if its
  # compares hold. Open two accounts, then move 30 from alice to bob if alice has it.
  curl -s -X POST ${api(r2)}/v1/txn ${json} -d '{"compare":[{"table":"accounts","key":"alice","op":"missing"}],"success":[{"table":"accounts","key":"alice","set":{"balance":100}},{"table":"accounts","key":"bob","set":{"balance":0}}]}'
  curl -s -X POST ${api(r3)}/v1/txn ${json} -d '{"compare":[{"table":"accounts","key":"alice","field":"balance","op":">=","value":30}],"success":[{"table":"accounts","key":"alice","incr":{"balance":-30}},{"table":"accounts","key":"bob","incr":{"balance":30}}],"failure":[{"table":"accounts","key":"alice","get":true}]}'
  curl -s '${api(r1)}/v1/tables/accounts/rows/alice?consistency=strong'      # 70, from any region

  # Where each region stands (its raft part names the strong tables' leader), and its metrics.
  curl -s ${api(r1)}/v1/status
  curl -s ${api(r1)}/metrics | grep tern_replication
`);
  // Failover needs a quorum without the island (its rows are taken over through the strong log).
  if (regions.length >= 3) parts.push(failoverPart(regions, api, wan, router, patch));
  if (regions.length >= 2) parts.push(killPart(island, api(r3), api(r1), pids.get(island), restartDelayS, byHand(island), patch));
  return parts.join('');
}

function failoverPart(regions: readonly string[], api: (i: number) => string, wan: string, router: string, patch: (i: number, table: string, key: string, body: string) => string): string {
  const i = islandIndex(regions);
  const island = regions[i] as string;
  const taker = failoverOrder(regions)[0] as string;
  const t = regions.indexOf(taker);
  return `
  # Failover. Every orders row has one writer: ${island}, its home, while ${island} holds its write
  # lease (renewed every second through the strong log), else ${taker}. ledger takes writes in
  # any region, but only while that region holds its lease (whenIsolated: reject).
  curl -s -X PUT ${api(i)}/v1/tables/orders/rows/o1 ${json} -d '{"fields":{"item":"tea"}}'
  ${patch(t, 'orders', 'o1', '{"incr":{"qty":1}}')}     # 421 WRONG_REGION: home ${island}

  # Cut ${island} off. Within the lease (4 s) it stops taking guarded writes.
  curl -s -X POST ${wan}/v1/wan/partition -d '{"isolate":"${island}"}'
  sleep 6
  ${patch(i, 'orders', 'o1', '{"incr":{"qty":1}}')}     # 503 FENCED
  ${patch(i, 'ledger', 'day1', '{"incr":{"amount":5}}')}   # 503 FENCED
  ${patch(i, 'profiles', 'ann', '{"incr":{"visits":1}}')}   # multi-writer: still taken
  # Through the router a client changes nothing: it sees ${island} fenced and sends the write on.
  curl -si -X PATCH ${router}/v1/tables/orders/rows/o1 -H 'tern-client-region: ${island}' ${json} -d '{"incr":{"qty":1}}' | grep -i '^tern-region'

  # ${taker} took ${island}'s rows over once the lease had surely run out, and writes them now.
  ${patch(t, 'orders', 'o1', '{"incr":{"qty":1}}')}
  curl -s ${api(t)}/v1/status | grep -o '"leases":[^]]*]'       # ${island}'s slot: holder ${taker}

  # Heal, and watch ${island}'s stage: fenced (lease), maybe catching-up or read-ready (lag) while
  # the writes it missed arrive, then write-ready (200) once its lease is back. Its rows go home.
  curl -s -X POST ${wan}/v1/wan/heal
  for i in $(seq 16); do curl -s ${api(i)}/readyz; sleep 0.5; done
  ${patch(i, 'orders', 'o1', '{"incr":{"qty":1}}')}     # ${island} writes its rows again
`;
}

function killPart(
  island: string,
  islandApi: string,
  otherApi: string,
  pid: number | undefined,
  restartDelayS: number | null,
  byHand: string,
  patch: (i: number, table: string, key: string, body: string) => string,
): string {
  const restart =
    restartDelayS === null
      ? `# --no-restart: the demo leaves it down. Start it again by hand:\n  ${byHand}`
      : `# The demo reports the death and restarts the node ${restartDelayS} s later (with a new pid).`;
  return `
  # Kill ${island}'s node hard (its pid is in the list above; the demo prints a restarted node's pid).
  kill -9 ${pid ?? `<pid of ${island}>`}
  ${restart}
  # The other regions keep serving meanwhile.
  ${patch(0, 'profiles', 'cat', '{"incr":{"visits":1}}')}
  # Watch it rejoin: down, then catching-up (starting) until it has measured its clock and caught
  # up, read-ready (lag) if it still lags, fenced (lease) until its write lease is renewed, then
  # write-ready (200).
  for i in $(seq 30); do curl -s ${islandApi}/readyz || echo down; sleep 0.5; done
  curl -s ${islandApi}/v1/tables/profiles/rows/cat        # the write made while it was down
  curl -s ${otherApi}/v1/status | grep -o '"peers":[^]]*]'     # ${island} reachable again
`;
}
