/**
 * The simulator's checkers judge records, never the world that made them: nothing under
 * src/sim/check imports a world module, directly or through what it imports. A checker that could
 * reach into the world could read a node's state instead of what clients saw, and stop being a
 * judge of the history.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('../../src/sim/', import.meta.url).pathname;

/** Relative imports of a source file, resolved to .ts paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/from '(\.[^']+)\.js'/g)) out.push(path.resolve(path.dirname(file), `${m[1]}.ts`));
  return out;
}

describe('simulator checkers', () => {
  it('import nothing from a world, directly or transitively', () => {
    const reached = new Map<string, string>();
    const start = readdirSync(path.join(root, 'check')).filter((f) => f.endsWith('.ts')).map((f) => path.join(root, 'check', f));
    const queue = start.map((f) => [f, f] as const);
    while (queue.length > 0) {
      const [file, from] = queue.shift() as readonly [string, string];
      if (reached.has(file)) continue;
      reached.set(file, from);
      for (const next of importsOf(file)) if (next.startsWith(root)) queue.push([next, file]);
    }
    const worlds = [...reached].filter(([f]) => path.basename(f) === 'world.ts').map(([f, from]) => `${path.relative(root, from)} → ${path.relative(root, f)}`);
    expect(worlds).toEqual([]);
  });
});
