/** `terndb conflicts`: a page of this region's conflict feed (GET /v1/conflicts). */
import { Command } from 'commander';
import { intOption } from '../options.js';
import { commonOptions, connection, mode, note, out, run, type CommonFlags } from './common.js';
import { formatConflicts, jsonLine, type ConflictDoc } from './format.js';
import { apiPath, request } from './http.js';

interface ConflictFlags extends CommonFlags {
  table?: string;
  after?: number;
  limit?: number;
}

export function conflictsCommand(): Command {
  return commonOptions(new Command('conflicts'))
    .description("list resolved conflicts of this region's feed: who won, who lost, by which rule")
    .option('--table <table>', 'only entries of this table')
    .option('--after <n>', 'a feed position: entries after it (a previous page\'s next)', intOption('--after', 0))
    .option('--limit <n>', 'entries per page, 1 to 1000 (the node\'s default: 100)', intOption('--limit', 1, 1000))
    .addHelpText('after', '\nExamples:\n  terndb conflicts --table profiles\n  terndb conflicts --after 100 --limit 50 | jq .winner.region')
    .action((flags: ConflictFlags) =>
      run('conflicts', async () => {
        const conn = connection(flags);
        const page = (await request(conn, 'GET', apiPath(['conflicts'], { table: flags.table, after: flags.after, limit: flags.limit }))).body as { conflicts: ConflictDoc[]; next: number };
        const m = mode(flags);
        if (m === 'raw') {
          out(jsonLine(page));
          return;
        }
        out(formatConflicts(page.conflicts, m));
        // The feed's next is always a position; a full page is the sign that more may follow.
        if (page.conflicts.length > 0 && page.conflicts.length === (flags.limit ?? 100)) note('conflicts', `more entries may follow: --after ${page.next}`);
      }),
    );
}
