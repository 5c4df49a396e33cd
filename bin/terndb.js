#!/usr/bin/env node
// Entry point of the `terndb` command. The TypeScript sources are compiled to dist/ by
// `npm install` (the package's `prepare` script) and by `npm test`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('terndb: dist/ is missing. Run `npm install` (or `npm run build`) in the checkout first.\n');
  process.exit(2);
}
// A reader that stops early (`terndb sim | head`) closes the pipe: that ends the output, not in a crash.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv);
