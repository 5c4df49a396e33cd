/**
 * The architecture rule must be able to fail: lint a would-be core file that reaches for the
 * wall clock, timers, randomness, the process or IO, and expect each to be refused.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function problems(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('the core purity lint rule', () => {
  it.each([
    ["import { readFileSync } from 'node:fs';\nexport const x = readFileSync;", 'tern/core-boundary'],
    ["import { Replica } from '../../server/x.js';\nexport const x = Replica;", 'tern/core-boundary'],
    ['export const x = Date.now();', 'no-restricted-globals'],
    ['export const x = Math.random();', 'no-restricted-properties'],
    ['setTimeout(() => undefined, 1);', 'no-restricted-globals'],
    ['export const x = performance.now();', 'no-restricted-globals'],
    ['export const x = process.env;', 'no-restricted-globals'],
  ])('refuses %j in src/core', async (code, rule) => {
    const found = await problems(code, 'src/core/replica/forbidden.ts');
    expect(found.some((p) => p.startsWith(`${rule}:`)), found.join('\n')).toBe(true);
  });

  it('allows the same code outside the core', async () => {
    expect(await problems('export const x = Date.now();', 'src/sim/allowed.ts')).toEqual([]);
  });

  it('allows relative imports that stay inside the core', async () => {
    expect(await problems("import { limits } from '../limits.js';\nexport const x = limits;", 'src/core/replica/fine.ts')).toEqual([]);
  });
});
