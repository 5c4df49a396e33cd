/** The data commands' output formats (src/cli/data/format.ts): no terminal, no node. */
import { describe, expect, it } from 'vitest';
import { cell, formatConflicts, formatDocument, formatRows, formatTables, outputMode, renderTable } from '../../src/cli/data/format.js';

const rows = [
  { key: 'ann', fields: { name: 'Ann', visits: 2, tags: ['admin'] }, version: '1796647453088.0.us-east' },
  { key: 'bob', fields: { name: 'Bob' }, version: '17' },
];

describe('data CLI output', () => {
  it('chooses the mode: --json wins, a terminal gets the readable view, a pipe JSON lines', () => {
    expect(outputMode(true, true)).toBe('raw');
    expect(outputMode(true, false)).toBe('raw');
    expect(outputMode(undefined, true)).toBe('human');
    expect(outputMode(undefined, false)).toBe('lines');
    expect(outputMode(undefined, undefined)).toBe('lines');
  });

  it('prints one document on one line (ending in a newline) unless a person reads it', () => {
    const row = rows[0];
    expect(formatDocument(row, 'raw')).toBe(JSON.stringify(row) + '\n');
    expect(formatDocument(row, 'lines')).toBe(JSON.stringify(row) + '\n');
    const pretty = formatDocument(row, 'human');
    expect(pretty).toBe(JSON.stringify(row, null, 2) + '\n');
    expect(JSON.parse(pretty)).toEqual(row);
  });

  it('prints scanned rows one per line when piped, so each line parses alone', () => {
    const text = formatRows(rows, 'lines');
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((l) => JSON.parse(l))).toEqual(rows);
    expect(formatRows([], 'lines')).toBe('');
  });

  it('prints scanned rows as a table with a column per field, values bare or as JSON', () => {
    expect(formatRows(rows, 'human')).toBe(
      [
        'KEY  name  tags       visits  VERSION',
        'ann  Ann   ["admin"]  2       1796647453088.0.us-east',
        'bob  Bob                      17',
        '',
      ].join('\n'),
    );
    expect(formatRows([], 'human')).toBe('(no rows)\n');
  });

  it('folds many fields into one FIELDS column, and cuts long or multi-line cells', () => {
    const wide = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`f${i}`, i]));
    const text = formatRows([{ key: 'w', fields: wide, version: null }], 'human');
    expect(text.split('\n')[0]).toBe('KEY  FIELDS' + ' '.repeat(36) + 'VERSION');
    expect(text).toContain('{"f0":0,"f1":1');
    expect(cell('x'.repeat(100))).toHaveLength(40);
    expect(cell('x'.repeat(100)).endsWith('…')).toBe(true);
    expect(cell('two\nlines')).toBe('"two\\nlines"');
    expect(cell(null)).toBe('null');
    expect(cell(undefined)).toBe('');
  });

  it('aligns a table without trailing spaces', () => {
    expect(renderTable(['A', 'LONGER'], [['wide value', ''], ['b', 'c']])).toBe('A           LONGER\nwide value\nb           c\n');
  });

  it('lists tables by name with their main policy fields, or one {table, policy} per line', () => {
    const tables = {
      profiles: { mode: 'async', fields: { name: 'lww', visits: 'counter' }, ownership: 'multi-writer', home: null, unique: [] },
      accounts: { mode: 'strong', fields: {}, ownership: 'multi-writer', home: null, unique: [{ field: 'iban', enforce: 'strong' }] },
      owned: { mode: 'async', fields: {}, ownership: 'home', home: { region: 'eu-west' }, unique: ['email'] },
    };
    expect(formatTables(tables, 'human')).toBe(
      [
        'TABLE     MODE    OWNERSHIP             FIELDS                   UNIQUE',
        'accounts  strong  multi-writer                                   iban (strong)',
        'owned     async   home (home: eu-west)                           email',
        'profiles  async   multi-writer          name:lww visits:counter',
        '',
      ].join('\n'),
    );
    const lines = formatTables(tables, 'lines').trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.table)).toEqual(['accounts', 'owned', 'profiles']);
    expect(lines[2].policy).toEqual(tables.profiles);
    expect(formatTables({}, 'human')).toBe('(no tables)\n');
  });

  it('lists conflicts with the winner and losers by region#seq, and counts the losers not listed', () => {
    const entries = [
      { id: '9670b3b726afbf06', table: 'profiles', key: 'ann', field: 'name', kind: 'write-write', rule: 'lww', winner: { region: 'ap-south', seq: 1 }, losers: [{ region: 'us-east', seq: 2, wrote: { value: 'Ann B.' } }], loserCount: 1 },
      { id: 'aa', table: 'docs', key: 'd', field: null, kind: 'delete-update', rule: 'delete-wins', winner: { region: 'eu-west', seq: 4 }, losers: [{ region: 'a', seq: 1, wrote: { delete: true } }, { region: 'b', seq: 2, wrote: { truncated: true, bytes: 5000, sha256: 'ab' } }, { region: 'c', seq: 3 }, { region: 'd', seq: 4 }], loserCount: 70 },
    ];
    const text = formatConflicts(entries, 'human');
    expect(text.split('\n')[0]).toMatch(/^ID +TABLE +KEY +FIELD +KIND +RULE +WINNER +LOSERS$/);
    expect(text).toMatch(/9670b3b726afbf06 +profiles +ann +name +write-write +lww +ap-south#1 +us-east#2 \("Ann B\."\)\n/);
    expect(text).toMatch(/aa +docs +d +- +delete-update +delete-wins +eu-west#4 +a#1 \(delete\), b#2 \(5000 bytes\), c#3 \(\+67 more\)\n/);
    expect(formatConflicts(entries, 'lines').trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual(entries);
    expect(formatConflicts([], 'human')).toBe('(no conflicts)\n');
  });
});
