/** The three-machine guide's configuration is one a node accepts, and its commands name real options. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../src/cli/main.js';
import { parseConfig } from '../../src/server/config.js';

const guide = readFileSync(fileURLToPath(new URL('../../docs/deploy.md', import.meta.url)), 'utf8');

describe('docs/deploy.md', () => {
  it('its cluster file parses, with one data directory and distinct addresses per region', () => {
    const yaml = /```yaml\n([\s\S]*?)```/.exec(guide)?.[1];
    expect(yaml).toBeDefined();
    const config = parseConfig(parse(yaml as string), '/');
    expect(config.regions.map((r) => r.name)).toEqual(['us-east', 'eu-west', 'ap-south']);
    expect(config.wan).toBeNull();
  });

  it('every terndb command it shows exists, with the options it uses', () => {
    const program = buildProgram();
    const uses = [...guide.matchAll(/terndb(?:\.js)? ([a-z]+)([^`;#\n]*)/g)];
    expect(uses.length).toBeGreaterThan(3);
    for (const [use, name, rest] of uses) {
      const top = program.commands.find((c) => c.name() === name);
      expect(top, use).toBeDefined();
      // A command with subcommands (terndb cert create-ca): the options are the subcommand's.
      const sub = /^ ([a-z-]+)/.exec(rest ?? '')?.[1];
      const command = top?.commands.find((c) => c.name() === sub) ?? top;
      for (const flag of (rest ?? '').matchAll(/ (--[a-z-]+)/g)) expect(command?.options.some((o) => o.long === flag[1]), `${use}: ${flag[1]}`).toBe(true);
    }
  });
});
