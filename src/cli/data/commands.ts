/**
 * The data commands, in the spirit of etcdctl and redis-cli: JSON in, JSON out, exit codes by
 * error class (docs/api.md, "Command line"). src/cli/main.ts registers this list.
 */
import type { Command } from 'commander';
import { conflictsCommand } from './conflicts.js';
import { orphansCommand } from './orphans.js';
import { delCommand, getCommand, patchCommand, putCommand } from './rows.js';
import { scanCommand } from './scan.js';
import { tablesCommand } from './tables.js';
import { txnCommand } from './txn.js';

export function dataCommands(): Command[] {
  return [getCommand(), putCommand(), patchCommand(), delCommand(), scanCommand(), txnCommand(), tablesCommand(), conflictsCommand(), orphansCommand()];
}
