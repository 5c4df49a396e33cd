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
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv);
