/**
 * What every data command shares: the common options, the connection they describe, and the
 * wrapper that turns a thrown CliFailure into `terndb <command>: <line>` on stderr and the exit code.
 */
import { randomUUID } from 'node:crypto';
import { type Command, Option } from 'commander';
import { intOption } from '../options.js';
import { AccessUsageError, accessOptions, certificateProblem, resolveAccess, type AccessFlags } from '../api-access.js';
import { exitCodes, usageFailure, type ExitCode } from './classify.js';
import { outputMode, type OutputMode } from './format.js';
import { CliFailure, type Connection } from './http.js';

export interface CommonFlags extends AccessFlags {
  url: string;
  json?: boolean;
  session?: string;
  verbose?: boolean;
  timeout: number;
}

export interface WriteFlags extends CommonFlags {
  idempotencyKey?: string;
}

/** The demo's first region, as `terndb status`: https:// with a CA to trust (--cacert or TERN_CACERT), else http://. */
export const defaultUrl = '127.0.0.1:7001';

/** --url, --cacert, --token-file, --json, --session, --verbose, --timeout: on every data command. */
export function commonOptions(command: Command): Command {
  return accessOptions(command.option('--url <url>', "the node's API: a URL or host:port (http://, or https:// with a CA to trust)", defaultUrl))
    .option('--json', 'print the API answer as is: one JSON document per line, even on a terminal')
    .option('--session <token>', 'send this Tern-Session token (from an earlier answer: read your writes in another region)')
    .option('--verbose', 'print the request, the answering region and the returned session token on stderr')
    .option('--timeout <ms>', 'give up (exit 4) when the node has not answered within this many ms', intOption('--timeout', 1, 600_000), 10_000)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');
}

/** --idempotency-key: on the commands that write (put, patch, del, txn). */
export function writeOptions(command: Command): Command {
  return command.addOption(
    new Option('--idempotency-key <key>', 'the Idempotency-Key to send (default: a new one, printed when the outcome is unknown); pass the printed key to retry safely'),
  );
}

/** --consistency and --max-staleness-ms: on the commands that read rows (get, scan). */
export function readOptions(command: Command): Command {
  return command
    .addOption(new Option('--consistency <level>', 'the read level (default: eventual on async tables, strong on strong tables)').choices(['eventual', 'session', 'causal', 'bounded', 'strong']))
    .option('--max-staleness-ms <ms>', 'with --consistency bounded (required there): the staleness bound', intOption('--max-staleness-ms', 0));
}

/** The read parameters as query parameters; `bounded` without its bound is refused here rather than by the node. */
export function readQuery(flags: { consistency?: string; maxStalenessMs?: number }): Record<string, string | number | undefined> {
  if (flags.consistency === 'bounded' && flags.maxStalenessMs === undefined) throw new CliFailure(usageFailure('--consistency bounded needs --max-staleness-ms <ms>'));
  return { consistency: flags.consistency, maxStalenessMs: flags.maxStalenessMs };
}

/** Where and how to send; a --url that is not a URL is a usage error. */
export function connection(flags: CommonFlags): Connection {
  let access;
  try {
    access = resolveAccess(flags);
  } catch (err) {
    if (err instanceof AccessUsageError) throw new CliFailure(usageFailure(err.message));
    throw err;
  }
  const url = access.url(flags.url);
  try {
    new URL(url);
  } catch {
    throw new CliFailure(usageFailure(`--url ${JSON.stringify(flags.url)} is neither a URL nor host:port`));
  }
  const trace = flags.verbose === true ? (line: string) => void process.stderr.write(`${line}\n`) : null;
  return { url, timeoutMs: flags.timeout, session: flags.session, trace, fetch: (u, init) => access.fetch(u, init), certificateProblem: (err) => certificateProblem(err, flags.url, access) };
}

/** The key a write is sent with: the given one, or a new one (so every write is safe to retry once its key is known). */
export function idempotencyKey(flags: WriteFlags): string {
  return flags.idempotencyKey ?? randomUUID();
}

export function mode(flags: CommonFlags): OutputMode {
  return outputMode(flags.json, process.stdout.isTTY);
}

export function out(text: string): void {
  process.stdout.write(text);
}

/** A note for the person (more pages follow, a failure branch ran): on stderr, so stdout stays JSON. */
export function note(name: string, line: string): void {
  process.stderr.write(`terndb ${name}: ${line}\n`);
}

/**
 * Runs a command's body, which may answer an exit code other than 0 (del of a missing row). A CliFailure prints its lines as `terndb <name>: <line>` and sets the
 * exit code (runCli returns process.exitCode). Anything else is a bug and propagates with its stack.
 */
export async function run(name: string, body: () => Promise<ExitCode | void>): Promise<void> {
  try {
    process.exitCode = (await body()) ?? exitCodes.ok;
  } catch (err) {
    if (!(err instanceof CliFailure)) throw err;
    for (const line of err.failure.lines) note(name, line);
    process.exitCode = err.failure.exit;
  }
}
