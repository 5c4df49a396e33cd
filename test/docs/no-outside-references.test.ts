/**
 * Nothing in the product points outside the repository: no file under src/, test/, docs/ or bin/,
 * nor README.md, package.json or eslint.config.js, names a design, style, testing or bare API
 * document that is not in the repository (the API reference is docs/api.md; the rest lives in
 * docs/architecture.md and docs/internals/). Each mention is reported as `file:line`.
 *
 * The names are built from pieces below, so this file does not mention them itself.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const md = String.raw`\.md`;
const outside = new RegExp(
  [
    `(?:${['DESIGN', 'STYLE', 'TESTING'].join('|')})${md}`,
    // A bare API reference name; docs/api.md (lower case, in the repository) is fine.
    `(?:^|[^/a-z])${'A' + 'PI'}${md}`,
  ].join('|'),
);

const skippedDirs = new Set(['node_modules', 'dist', '.git']);

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (skippedDirs.has(name)) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
}

function productFiles(): string[] {
  const files = ['README.md', 'package.json', 'eslint.config.js'].map((f) => path.join(root, f));
  for (const dir of ['src', 'test', 'docs', 'bin']) walk(path.join(root, dir), files);
  return files;
}

describe('references', () => {
  it('point only at files in the repository: no design, style, testing or bare API document from outside', () => {
    const files = productFiles();
    expect(files.length).toBeGreaterThan(50);
    const offenders: string[] = [];
    for (const file of files) {
      const bytes = readFileSync(file);
      if (bytes.includes(0)) continue; // binary
      const lines = bytes.toString('utf8').split('\n');
      lines.forEach((line, i) => {
        if (outside.test(line)) offenders.push(`${path.relative(root, file)}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(offenders, `mentions of documents outside the repository:\n${offenders.join('\n')}`).toEqual([]);
  });
});
