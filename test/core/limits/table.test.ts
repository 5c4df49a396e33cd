/**
 * The core's one table of limits (src/core/limits.ts), read as text: every key ends in its unit and
 * has a doc comment saying why that value, and every key of the text is a key of the table.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { limits } from '../../../src/core/limits.js';

const unitSuffixes = ['Max', 'Min', 'Ms', 'Bytes', 'Chars'];
const text = readFileSync(new URL('../../../src/core/limits.ts', import.meta.url), 'utf8');

/** The table's body: between `export const limits = {` and `} as const;`. */
function tableLines(): string[] {
  const start = text.indexOf('export const limits = {');
  const end = text.indexOf('} as const;', start);
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  return text.slice(start, end).split('\n').slice(1);
}

/** Each key with the doc comment right above it (null when there is none). */
function entries(): Array<{ key: string; doc: string | null }> {
  const out: Array<{ key: string; doc: string | null }> = [];
  let doc: string | null = null;
  let inDoc = false;
  let current: string[] = [];
  for (const raw of tableLines()) {
    const line = raw.trim();
    if (inDoc) {
      current.push(line);
      if (line.endsWith('*/')) {
        inDoc = false;
        doc = current.join(' ');
      }
      continue;
    }
    if (line.startsWith('/**')) {
      current = [line];
      if (line.endsWith('*/')) doc = line;
      else inDoc = true;
      continue;
    }
    const key = /^([A-Za-z_$][\w$]*)\s*:/.exec(line)?.[1];
    if (key !== undefined) {
      out.push({ key, doc });
      // A comment covers the one key right below it.
      doc = null;
      continue;
    }
    if (line === '' || line.startsWith('//')) doc = null;
  }
  return out;
}

describe('src/core/limits.ts', () => {
  it('lists, as text, exactly the keys of the table', () => {
    expect(entries().map((e) => e.key).sort()).toEqual(Object.keys(limits).sort());
  });

  it.each(Object.keys(limits))('%s ends in a unit', (key) => {
    expect(unitSuffixes.some((s) => key.endsWith(s)), `${key} should end in one of ${unitSuffixes.join(', ')}`).toBe(true);
  });

  it.each(Object.keys(limits))('%s has a doc comment saying why', (key) => {
    const doc = entries().find((e) => e.key === key)?.doc ?? null;
    expect(doc, `${key} has no /** … */ comment above it`).not.toBeNull();
    // More than the opening and closing marks: words.
    expect((doc as string).replace(/\/\*\*|\*\/|\*/g, '').trim().length).toBeGreaterThan(10);
  });

  it('holds numbers only', () => {
    for (const [key, v] of Object.entries(limits)) expect(typeof v, key).toBe('number');
  });
});
