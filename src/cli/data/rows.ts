/** `terndb get|put|patch|del TABLE KEY`: one row, through the rows routes of docs/api.md. */
import { Command } from 'commander';
import { exitCodes } from './classify.js';
import { commonOptions, connection, idempotencyKey, mode, out, readOptions, readQuery, run, writeOptions, note, type CommonFlags, type WriteFlags } from './common.js';
import { formatDocument } from './format.js';
import { apiPath, CliFailure, request } from './http.js';
import { jsonArgument, pathArgument } from './input.js';

const rowPath = (table: string, key: string, query: Record<string, string | number | undefined> = {}) =>
  apiPath(['tables', pathArgument(table, '<table>'), 'rows', pathArgument(key, '<key>')], query);

export function getCommand(): Command {
  return readOptions(commonOptions(new Command('get')))
    .description('read one row (exit 1 when it is absent or deleted)')
    .argument('<table>', 'the table')
    .argument('<key>', 'the row key')
    .addHelpText('after', '\nExamples:\n  terndb get profiles ann\n  terndb get accounts alice --consistency bounded --max-staleness-ms 500 --url localhost:7002')
    .action((table: string, key: string, flags: CommonFlags & { consistency?: string; maxStalenessMs?: number }) =>
      run('get', async () => {
        const path = rowPath(table, key, readQuery(flags));
        const conn = connection(flags);
        const answer = await request(conn, 'GET', path, { rowRead: true });
        out(formatDocument(answer.body, mode(flags)));
      }),
    );
}

/** put and patch differ only in the body: put wraps the fields object as {"fields": ...}. */
function writeCommand(name: 'put' | 'patch', argument: string, describe: string, example: string, wrap: (json: Record<string, unknown>) => unknown): Command {
  return writeOptions(commonOptions(new Command(name)))
    .description(describe)
    .argument('<table>', 'the table')
    .argument('<key>', 'the row key')
    .argument(`[${argument}]`, `a JSON object; - or nothing reads it from stdin`)
    .addHelpText('after', `\nExamples:\n${example}`)
    .action((table: string, key: string, json: string | undefined, flags: WriteFlags) =>
      run(name, async () => {
        const path = rowPath(table, key);
        const conn = connection(flags);
        const body = wrap(await jsonArgument(json, `<${argument}>`));
        const answer = await request(conn, name === 'put' ? 'PUT' : 'PATCH', path, { body, write: true, idempotencyKey: idempotencyKey(flags) });
        out(formatDocument(answer.body, mode(flags)));
      }),
    );
}

export function putCommand(): Command {
  return writeCommand(
    'put',
    'fields',
    'set fields of a row (an upsert of those fields; the others stay as they are)',
    `  terndb put profiles ann '{"name":"Ann","visits":1}'\n  echo '{"name":"Bob"}' | terndb put profiles bob --idempotency-key bob-1`,
    (fields) => ({ fields }),
  );
}

export function patchCommand(): Command {
  return writeCommand(
    'patch',
    'patch',
    'change fields of a row: set, unset, incr (counters), add and remove (sets)',
    `  terndb patch profiles ann '{"set":{"name":"Ann"},"incr":{"visits":1},"add":{"tags":["admin"]}}'`,
    (patch) => patch,
  );
}

export function delCommand(): Command {
  return writeOptions(commonOptions(new Command('del')))
    .description('delete a row (exit 1 when it was already absent; the delete is sent anyway)')
    .argument('<table>', 'the table')
    .argument('<key>', 'the row key')
    .addHelpText('after', '\nExample:\n  terndb del profiles ann')
    .action((table: string, key: string, flags: WriteFlags) =>
      run('del', async () => {
        const path = rowPath(table, key);
        const conn = connection(flags);
        // DELETE answers {"deleted": true} whether or not the row existed, so a read first tells which.
        // The delete is sent either way: a copy this region has not applied yet may still be deleted by it.
        let missing: string | null = null;
        try {
          await request(conn, 'GET', path, { rowRead: true });
        } catch (err) {
          if (!(err instanceof CliFailure)) throw err;
          // The read failing for another reason stops the command before the delete: say so, or it reads as "may have deleted".
          if (err.failure.exit !== exitCodes.notFound) throw new CliFailure({ ...err.failure, lines: [...err.failure.lines, 'the delete was not sent (the read before it failed)'] });
          missing = err.failure.lines[0] ?? 'NOT_FOUND';
        }
        const answer = await request(conn, 'DELETE', path, { write: true, idempotencyKey: idempotencyKey(flags) });
        out(formatDocument(answer.body, mode(flags)));
        if (missing === null) return exitCodes.ok;
        note('del', `${missing}; the delete was sent anyway`);
        return exitCodes.notFound;
      }),
    );
}
