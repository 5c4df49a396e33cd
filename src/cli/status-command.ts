/** `terndb status --url URL`: a region's stage, position and peers, as a person reads them. */
import { Command } from 'commander';

interface Status {
  region: string;
  node: string;
  stage: string;
  reason: string | null;
  lagMs: number | null;
  vector: Record<string, number>;
  peers: Array<{ region: string; reachable: boolean; lagMs: number | null; lagOps: number }>;
  leases?: Array<{ region: string; holder: string | null; epoch: number; expiresAt: string | null; drained: boolean }>;
  clock?: { trusted: boolean; offsets: Record<string, { offsetMs: number; rttMs: number } | null> };
}

/** `localhost:7001` as well as `http://localhost:7001`: a bare host:port means HTTP. */
export function baseUrl(url: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`;
}

export function statusCommand(): Command {
  return new Command('status')
    .description("print a region's stage, applied vector and replication lag per peer")
    .option('--url <url>', 'the region node API: a URL or host:port (default: the demo\'s first region)', 'http://127.0.0.1:7001')
    .option('--json', 'print the raw /v1/status JSON')
    .action(async (flags: { url: string; json?: boolean }) => {
      let s: Status;
      try {
        const r = await fetch(new URL('/v1/status', baseUrl(flags.url)));
        if (!r.ok) throw new Error(`HTTP ${r.status}`);
        s = (await r.json()) as Status;
      } catch (err) {
        process.stderr.write(`terndb status: cannot reach ${flags.url} (${(err as Error).message}); is the node running?\n`);
        process.exitCode = 1;
        return;
      }
      if (flags.json) {
        process.stdout.write(JSON.stringify(s) + '\n');
        return;
      }
      process.stdout.write(`${s.region} (${s.node}): ${s.stage}${s.reason !== null ? ` (${s.reason})` : ''}${s.lagMs !== null ? `, lag ${s.lagMs} ms` : ''}\n`);
      process.stdout.write(`  applied: ${Object.entries(s.vector).map(([k, v]) => `${k}:${v}`).join(' ') || '(nothing yet)'}\n`);
      for (const p of s.peers) {
        const offset = s.clock?.offsets[p.region];
        process.stdout.write(
          `  peer ${p.region.padEnd(12)} ${p.reachable ? 'reachable  ' : 'UNREACHABLE'}  lag ${p.lagMs === null ? '?' : `${Math.round(p.lagMs)} ms`}, ${p.lagOps} ops, clock ${offset === null || offset === undefined ? '?' : `${offset.offsetMs >= 0 ? '+' : ''}${offset.offsetMs} ms (rtt ${offset.rttMs} ms)`}\n`,
        );
      }
      if (s.clock !== undefined) process.stdout.write(`  clock: ${s.clock.trusted ? 'trusted' : 'NOT TRUSTED (writes refused)'}\n`);
      for (const l of s.leases ?? []) {
        const who = l.holder === null ? 'nobody' : l.holder === l.region ? l.holder : `${l.holder} (takeover)`;
        process.stdout.write(`  lease ${l.region.padEnd(11)} held by ${who}, epoch ${l.epoch}${l.expiresAt !== null ? `, until ${l.expiresAt}` : ''}${l.drained ? ', DRAINED' : ''}\n`);
      }
    });
}
