/** `terndb scan TABLE`: rows in key order, one page or (--all) every page. */
import { Command } from 'commander';
import { intOption } from '../options.js';
import { commonOptions, connection, mode, note, out, readOptions, readQuery, run, type CommonFlags } from './common.js';
import { formatRows, jsonLine, type RowDoc } from './format.js';
import { apiPath, request } from './http.js';
import { pathArgument } from './input.js';

interface ScanFlags extends CommonFlags {
  prefix?: string;
  after?: string;
  limit?: number;
  all?: boolean;
  consistency?: string;
  maxStalenessMs?: number;
}

interface Page {
  rows: RowDoc[];
  next: string | null;
}

export function scanCommand(): Command {
  return readOptions(commonOptions(new Command('scan')))
    .description('list rows in key order: one page, or every page with --all')
    .argument('<table>', 'the table')
    .option('--prefix <prefix>', 'only keys that start with this')
    .option('--after <key>', 'only keys after this one (a previous page\'s next)')
    .option('--limit <n>', 'rows per page, 1 to 1000 (the node\'s default: 100)', intOption('--limit', 1, 1000))
    .option('--all', 'follow the pages until the last one')
    .addHelpText('after', "\nExamples:\n  terndb scan profiles --prefix ann --limit 10\n  terndb scan profiles --all | jq -r .key")
    .action((table: string, flags: ScanFlags) =>
      run('scan', async () => {
        const query = readQuery(flags);
        pathArgument(table, '<table>');
        const conn = connection(flags);
        const m = mode(flags);
        const people: RowDoc[] = [];
        let after = flags.after;
        for (;;) {
          const path = apiPath(['tables', table, 'rows'], { prefix: flags.prefix, after, limit: flags.limit, ...query });
          const page = (await request(conn, 'GET', path)).body as Page;
          // Pipes get each page as it arrives (a long --all streams); a terminal gets one aligned table at the end.
          if (m === 'raw') out(jsonLine(page));
          else if (m === 'lines') out(formatRows(page.rows, 'lines'));
          else people.push(...page.rows);
          // A cursor that does not move would loop forever; the API promises it moves, this does not rely on it.
          if (flags.all !== true || page.next === null || page.next === after) {
            if (m === 'human') out(formatRows(people, 'human'));
            if (page.next !== null && m !== 'raw') note('scan', `more rows may follow: --after ${JSON.stringify(page.next)}${flags.all === true ? '' : ' (or --all)'}`);
            return;
          }
          after = page.next;
        }
      }),
    );
}
