/**
 * The `terndb` command line. Exit codes (docs/api.md, "Command line"): 0 success, 1 a checker or command failed,
 * 2 bad usage or bad configuration.
 */
import { Command, CommanderError } from 'commander';
import { simCommand } from './sim-command.js';
import { benchCommand } from './bench-command.js';
import { errorsCommand } from './errors-command.js';
import { nodeCommand } from './node-command.js';
import { wanCommand } from './wan-command.js';
import { demoCommand } from './demo-command.js';
import { statusCommand } from './status-command.js';
import { dataCommands } from './data/commands.js';
import { backupCommand } from './backup-command.js';
import { restoreCommand } from './restore-command.js';
import { routerCommand } from './router-command.js';
import { drillCommand } from './drill-command.js';
import { certCommand } from './cert-command.js';

export function buildProgram(): Command {
  const program = new Command('terndb')
    .description('Tern: a multi-region active-active database')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const command of [demoCommand(), nodeCommand(), wanCommand(), statusCommand(), simCommand(), benchCommand(), errorsCommand(), ...dataCommands(), backupCommand(), restoreCommand(), routerCommand(), drillCommand(), certCommand()]) {
    // Usage errors in a subcommand must reach runCli (exit 2), not exit the process with 1.
    command.exitOverride().showHelpAfterError('(run with --help for usage)');
    program.addCommand(command);
  }
  return program;
}

/** Runs the CLI on `argv` (process.argv shape) and returns the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit 0; usage errors exit 2 (commander printed the message).
      return err.exitCode === 0 ? 0 : 2;
    }
    throw err;
  }
}
