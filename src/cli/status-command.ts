/** `terndb status --url URL`: a region's stage, position and peers, as a person reads them. */
import { Command } from 'commander';
import { accessOptions, accessOrSay, accessUsageExit, refusal, unreachable, type AccessFlags } from './api-access.js';

/** What `/v1/status` answers, as far as this command reads it. */
export interface Status {
  region: string;
  node: string;
  stage: string;
  reason: string | null;
  lagMs: number | null;
  /** How old the freshest data from the peer furthest behind is (grows on an island). */
  stalenessMs?: number | null;
  vector: Record<string, number>;
  peers: Array<{ region: string; reachable: boolean; lagMs: number | null; lagOps: number }>;
  leases?: Array<{ region: string; holder: string | null; epoch: number; expiresAt: string | null; drained: boolean }>;
  clock?: { trusted: boolean; offsets: Record<string, { offsetMs: number; rttMs: number } | null> };
  raft?: { term: number; role: string; learner?: boolean; leader: string | null; commitIndex: number };
  /** Restored from a backup and recovering its own writes from its peers. */
  recovery?: { waitingFor: string[]; ownOpsBehind: number; gone: Record<string, { through: number; peer: string }> } | null;
}

/** The status as a person reads it; `nowMs` decides which leases have expired (by this machine's clock). */
export function formatStatus(s: Status, nowMs: number): string {
  const lines: string[] = [];
  // Backlog: what a majority holds that this region lacks (drives the stage). Staleness: how old
  // the newest data from the furthest peer is, which grows while the region is cut off.
  const staleness = s.stalenessMs === undefined ? '' : `, data from peers ${s.stalenessMs === null ? 'not yet heard' : `up to ${Math.round(s.stalenessMs)} ms old`}`;
  lines.push(`${s.region} (${s.node}): ${s.stage}${s.reason !== null ? ` (${s.reason})` : ''}${s.lagMs !== null ? `, backlog ${s.lagMs} ms` : ''}${staleness}`);
  const rec = s.recovery;
  if (rec !== undefined && rec !== null) {
    const gone = Object.entries(rec.gone);
    if (gone.length > 0) {
      for (const [origin, g] of gone) lines.push(`  restore: CANNOT COMPLETE: ${g.peer} already collected ops of ${origin} through ${g.through} that this region lacks; the backup is too old. Stop this node, move its data aside and restore again from a fresh copy (terndb restore --from <a healthy region>)`);
    } else {
      lines.push(`  restore: recovering this region's own writes from its peers${rec.waitingFor.length > 0 ? `; waiting to hear ${rec.waitingFor.join(', ')}` : ''}${rec.ownOpsBehind > 0 ? `; ${rec.ownOpsBehind} of its writes still to get back` : ''}`);
    }
  }
  if (s.raft !== undefined) lines.push(`  raft: term ${s.raft.term}, ${s.raft.role}${s.raft.learner === true ? ' (learner: restored, not voting until readmitted)' : ''}, leader ${s.raft.leader ?? 'unknown'}, commit ${s.raft.commitIndex}`);
  lines.push(`  applied: ${Object.entries(s.vector).map(([k, v]) => `${k}:${v}`).join(' ') || '(nothing yet)'}`);
  for (const p of s.peers) {
    const offset = s.clock?.offsets[p.region];
    lines.push(`  peer ${p.region.padEnd(12)} ${p.reachable ? 'reachable  ' : 'UNREACHABLE'}  lag ${p.lagMs === null ? '?' : `${Math.round(p.lagMs)} ms`}, ${p.lagOps} ops, clock ${offset === null || offset === undefined ? '?' : `${offset.offsetMs >= 0 ? '+' : ''}${offset.offsetMs} ms (rtt ${offset.rttMs} ms)`}`);
  }
  if (s.clock !== undefined) lines.push(`  clock: ${s.clock.trusted ? 'trusted' : 'NOT TRUSTED (writes refused)'}`);
  for (const l of s.leases ?? []) {
    const who = l.holder === null ? 'nobody' : l.holder === l.region ? l.holder : `${l.holder} (takeover)`;
    const expired = l.expiresAt !== null && Date.parse(l.expiresAt) < nowMs;
    const until = l.expiresAt === null ? '' : expired ? `, EXPIRED at ${l.expiresAt}` : `, until ${l.expiresAt}`;
    lines.push(`  lease ${l.region.padEnd(11)} ${expired ? 'last held' : 'held'} by ${who}, epoch ${l.epoch}${until}${l.drained ? ', DRAINED' : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface StatusFlags extends AccessFlags {
  url: string;
  json?: boolean;
}

/** Fetches and prints the node's status; the exit code (0 printed, 1 unreachable or refused, 2 bad usage). */
export async function runStatus(flags: StatusFlags, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const say = (m: string) => void process.stderr.write(`terndb status: ${m}\n`);
  const access = accessOrSay(flags, say, env);
  if (access === null) return accessUsageExit;
  let res: Response;
  try {
    res = await access.fetch(new URL('/v1/status', access.url(flags.url)));
  } catch (err) {
    say(unreachable(err, flags.url, access));
    return 1;
  }
  if (!res.ok) {
    say(`${flags.url} refused: ${await refusal(res, access)}`);
    return 1;
  }
  let s: Status;
  try {
    s = (await res.json()) as Status;
  } catch {
    say(`${flags.url} answered ${res.status} without a status (is it a terndb node's API?)`);
    return 1;
  }
  process.stdout.write(flags.json === true ? JSON.stringify(s) + '\n' : formatStatus(s, Date.now()));
  return 0;
}

export function statusCommand(): Command {
  return accessOptions(
    new Command('status')
      .description("print a region's stage, applied vector and replication lag per peer")
      .option('--url <url>', "the region node API: a URL or host:port (http://, or https:// with --cacert; default: the demo's first region)", '127.0.0.1:7001')
      .option('--json', 'print the raw /v1/status JSON'),
  )
    .addHelpText(
      'after',
      "\nA secure cluster's nodes (a configuration with tls) serve HTTPS with certificates of its own CA,\n" +
        'and want a token: give the CA with --cacert (then a bare host:port means https://) and the token\n' +
        'with --token-file, or in the TERN_TOKEN environment variable.\n\n' +
        'Examples:\n' +
        '  terndb status --url localhost:7001\n' +
        '  terndb status --url 127.0.0.1:7001 --cacert terndb-demo/certs/ca.crt --token-file terndb-demo/root.token\n' +
        '  terndb status --url 10.0.1.10:7001 --cacert certs/ca.crt --token-file secrets/root/root.token\n\n' +
        'Exit codes: 0 printed, 1 the node could not be reached or refused, 2 bad usage (such as an unreadable --cacert or --token-file).',
    )
    .action(async (flags: StatusFlags) => {
      process.exitCode = await runStatus(flags);
    });
}
