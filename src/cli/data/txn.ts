/** `terndb txn JSON`: a conditional transaction over strong tables (POST /v1/txn). */
import { Command } from 'commander';
import { commonOptions, connection, idempotencyKey, mode, note, out, run, writeOptions, type WriteFlags } from './common.js';
import { formatDocument } from './format.js';
import { request } from './http.js';
import { jsonArgument } from './input.js';

export function txnCommand(): Command {
  return writeOptions(commonOptions(new Command('txn')))
    .description('run a transaction on strong tables: if every compare holds, the success ops run, else the failure ops')
    .argument('[txn]', 'the body of POST /v1/txn as JSON: {"compare": [...], "success": [...], "failure": [...]}; - or nothing reads it from stdin')
    .addHelpText(
      'after',
      `
Exits 0 whichever branch ran: "succeeded": false is an answer (the compares did not hold), not an error.

Example:
  terndb txn '{"compare":[{"table":"accounts","key":"alice","field":"balance","op":">=","value":30}],
    "success":[{"table":"accounts","key":"alice","incr":{"balance":-30}},{"table":"accounts","key":"bob","incr":{"balance":30}}],
    "failure":[{"table":"accounts","key":"alice","get":true}]}'`,
    )
    .action((json: string | undefined, flags: WriteFlags) =>
      run('txn', async () => {
        const conn = connection(flags);
        const body = await jsonArgument(json, '<txn>');
        const answer = await request(conn, 'POST', '/v1/txn', { body, write: true, idempotencyKey: idempotencyKey(flags) });
        const m = mode(flags);
        out(formatDocument(answer.body, m));
        // Scripts read "succeeded" from the JSON; a person at a terminal gets it said.
        if (m === 'human' && (answer.body as { succeeded?: unknown }).succeeded === false) note('txn', 'the compares did not hold: the failure branch ran');
      }),
    );
}
