/**
 * `terndb orphans`: the orphaned writes in this region's conflict feed (GET /v1/conflicts, kind
 * `orphaned-write`): writes a region made before its eviction that no other region received, never
 * applied anywhere. On a terminal, a table; piped (or with --jsonl), one line per write in a form an
 * application can re-apply deliberately: {table, key, method, body, idempotencyKey, region, seq, hlc}.
 */
import { Command } from 'commander';
import { commonOptions, connection, mode, note, out, run, type CommonFlags } from './common.js';
import { jsonLine, renderTable, type ConflictDoc } from './format.js';
import { apiPath, request } from './http.js';

interface OrphanFlags extends CommonFlags {
  table?: string;
  jsonl?: boolean;
}

/** One orphaned write, as the export prints it. */
export interface OrphanLine {
  readonly table: string;
  readonly key: string;
  /** PATCH with `body` a PATCH body, or DELETE with `body` null. */
  readonly method: 'PATCH' | 'DELETE';
  readonly body: unknown;
  readonly idempotencyKey: string | null;
  /** The region that made the write, its sequence number there, and its HLC. */
  readonly region: string;
  readonly seq: number;
  readonly hlc: string;
}

/** The feed entry as an orphan line (null: not an orphaned-write entry). */
export function orphanLine(e: ConflictDoc): OrphanLine | null {
  if (e.kind !== 'orphaned-write') return null;
  const l = (e.losers ?? [])[0] as (Record<string, unknown> & { wrote?: Record<string, unknown> }) | undefined;
  if (l === undefined) return null;
  const del = l.wrote !== undefined && 'delete' in l.wrote;
  return {
    table: String(e.table),
    key: String(e.key),
    method: del ? 'DELETE' : 'PATCH',
    body: del ? null : (l.wrote?.['patch'] ?? null),
    idempotencyKey: typeof l['idempotencyKey'] === 'string' ? l['idempotencyKey'] : null,
    region: String(l['region']),
    seq: Number(l['seq']),
    hlc: String(l['hlc']),
  };
}

/** The page size asked of the node: the largest it serves. */
const pageSize = 1000;

export function orphansCommand(): Command {
  return commonOptions(new Command('orphans'))
    .description("list the orphaned writes in this region's conflict feed (writes of an evicted region no other region received: never applied), to re-apply them deliberately")
    .option('--table <table>', 'only orphans of this table')
    .option('--jsonl', 'one JSON line per write ({table, key, method, body, idempotencyKey, region, seq, hlc}), even on a terminal')
    .addHelpText(
      'after',
      '\nEvery page of the feed is read. Re-applying a write is the application\'s decision: the row may have\n' +
        'changed since, or been deleted on purpose.\n\nExamples:\n  terndb orphans --url localhost:7001\n  terndb orphans --table profiles --jsonl > orphans.jsonl',
    )
    .action((flags: OrphanFlags) =>
      run('orphans', async () => {
        const conn = connection(flags);
        const lines: OrphanLine[] = [];
        let after: number | undefined;
        for (;;) {
          const page = (await request(conn, 'GET', apiPath(['conflicts'], { table: flags.table, after, limit: pageSize }))).body as { conflicts: ConflictDoc[]; next: number };
          for (const e of page.conflicts) {
            const line = orphanLine(e);
            if (line !== null) lines.push(line);
          }
          if (page.conflicts.length < pageSize) break;
          after = page.next;
        }
        const m = flags.jsonl === true ? 'lines' : mode(flags);
        if (m === 'raw') return void out(jsonLine({ orphans: lines }));
        if (m === 'lines') return void out(lines.map(jsonLine).join(''));
        if (lines.length === 0) return void out('(no orphaned writes)\n');
        out(renderTable(['WRITE', 'TABLE', 'KEY', 'METHOD', 'BODY', 'IDEMPOTENCY KEY', 'HLC'], lines.map((l) => [`${l.region}#${l.seq}`, l.table, l.key, l.method, l.body === null ? '-' : JSON.stringify(l.body), l.idempotencyKey ?? '-', l.hlc])));
        note('orphans', `${lines.length} orphaned write(s); --jsonl exports them`);
      }),
    );
}
