/** `terndb errors`: the error registry as a table (docs/errors.md is generated from it). */
import { Command } from 'commander';
import { errorRegistry } from '../core/errors.js';

export function errorsMarkdown(): string {
  const lines = [
    '# Error codes',
    '',
    'Generated from `src/core/errors.ts` by `npx terndb errors --markdown`; do not edit by hand.',
    'Every error is JSON `{"error": {"code", "message", "retryable"}}`.',
    '',
    '| code | HTTP status | retryable | meaning |',
    '|---|---|---|---|',
  ];
  for (const [code, e] of Object.entries(errorRegistry)) lines.push(`| \`${code}\` | ${e.status} | ${e.retryable ? 'yes' : 'no'} | ${e.meaning} |`);
  return lines.join('\n') + '\n';
}

export function errorsCommand(): Command {
  return new Command('errors')
    .description('list the client error codes with their HTTP status and whether to retry')
    .option('--markdown', 'print the table as Markdown (docs/errors.md)')
    .action((flags: { markdown?: boolean }) => {
      if (flags.markdown) {
        process.stdout.write(errorsMarkdown());
        return;
      }
      for (const [code, e] of Object.entries(errorRegistry)) {
        process.stdout.write(`${code.padEnd(22)} ${e.status}  ${e.retryable ? 'retryable' : '         '}  ${e.meaning}\n`);
      }
    });
}
