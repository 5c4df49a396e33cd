/** Every data command (and `tables list`/`tables put`) has --help with an example, in process. */
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { dataCommands } from '../../src/cli/data/commands.js';

function helpOf(command: Command): string {
  let text = '';
  command.configureOutput({ writeOut: (s) => void (text += s), writeErr: (s) => void (text += s) });
  command.outputHelp();
  return text;
}

describe('data CLI help', () => {
  const commands = dataCommands().flatMap((c) => [c, ...c.commands]);

  it('covers the nine commands and the two table subcommands', () => {
    expect(commands.map((c) => c.name())).toEqual(['get', 'put', 'patch', 'del', 'scan', 'txn', 'tables', 'list', 'put', 'conflicts', 'orphans']);
  });

  it.each(commands.map((c) => [c.name(), c] as const))('%s --help has a description and an example', (_name, command) => {
    const help = helpOf(command);
    expect(help).toMatch(/^Usage: /);
    expect(command.description().length).toBeGreaterThan(10);
    expect(help).toMatch(/\nExamples?:\n {2}terndb /);
  });

  it('gives every command that talks to a node the common options, and the writes an idempotency key', () => {
    for (const c of commands.filter((c) => c.name() !== 'tables')) {
      const flags = c.options.map((o) => o.long);
      expect(flags, c.name()).toEqual(expect.arrayContaining(['--url', '--json', '--session', '--verbose', '--timeout']));
    }
    const writers = commands.filter((c) => c.options.some((o) => o.long === '--idempotency-key')).map((c) => c.name());
    expect(writers).toEqual(['put', 'patch', 'del', 'txn']);
  });
});
