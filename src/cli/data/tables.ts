/**
 * `terndb tables` (list) and `terndb tables put NAME POLICY` (create or alter). `list` is the
 * default subcommand; `tables` itself has no options, so every option reaches the subcommand.
 */
import { Command } from 'commander';
import { commonOptions, connection, mode, out, run, type CommonFlags } from './common.js';
import { formatDocument, formatTables, jsonLine } from './format.js';
import { apiPath, request } from './http.js';
import { jsonArgument, pathArgument } from './input.js';

function listCommand(): Command {
  return commonOptions(new Command('list'))
    .description('list every table with its policy (the default of terndb tables)')
    .addHelpText('after', '\nExamples:\n  terndb tables\n  terndb tables --json | jq .tables.accounts')
    .action((flags: CommonFlags) =>
      run('tables', async () => {
        const conn = connection(flags);
        const answer = (await request(conn, 'GET', '/v1/tables')).body as { tables: Record<string, unknown> };
        const m = mode(flags);
        out(m === 'raw' ? jsonLine(answer) : formatTables(answer.tables, m));
      }),
    );
}

function putTableCommand(): Command {
  return commonOptions(new Command('put'))
    .description('create a table, or alter it (through the strong log: needs a quorum)')
    .argument('<name>', 'the table name')
    .argument('[policy]', 'the table policy as JSON (docs/api.md, "Table policies"); - or nothing reads it from stdin')
    .addHelpText('after', `\nExamples:\n  terndb tables put wallets '{"mode":"strong","fields":{"balance":"counter"}}'\n  terndb tables put profiles '{"fields":{"name":"lww","visits":"counter","city":"lww"}}'`)
    .action((name: string, json: string | undefined, flags: CommonFlags) =>
      run('tables put', async () => {
        const path = apiPath(['tables', pathArgument(name, '<name>')]);
        const conn = connection(flags);
        const body = await jsonArgument(json, '<policy>');
        // A table change is naturally idempotent (the same policy again changes nothing) and the
        // route ignores Idempotency-Key, so no key is sent.
        const answer = await request(conn, 'PUT', path, { body });
        out(formatDocument(answer.body, mode(flags)));
      }),
    );
}

export function tablesCommand(): Command {
  return new Command('tables')
    .description('list tables (terndb tables), or create or alter one (terndb tables put NAME POLICY)')
    .addCommand(listCommand(), { isDefault: true })
    .addCommand(putTableCommand())
    .addHelpText('after', '\nExamples:\n  terndb tables --url localhost:7002\n  terndb tables put wallets \'{"mode":"strong","fields":{"balance":"counter"}}\'');
}
