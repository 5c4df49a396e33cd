/**
 * JSON input of the data commands: an argument, or stdin for `-` or a missing argument. Every
 * problem is a usage error (exit 2) naming the argument, found before anything is sent.
 */
import { usageFailure } from './classify.js';
import { CliFailure } from './http.js';

export type JsonObject = Record<string, unknown>;

/** Parses `text` as a JSON object; `what` names where it came from (`argument <fields>`, `<fields> read from stdin`). */
export function parseJsonObject(text: string, what: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CliFailure(usageFailure(`${what} is not valid JSON: ${(err as Error).message}`));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new CliFailure(usageFailure(`${what} must be a JSON object ({...}), not ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`));
  }
  return value as JsonObject;
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The JSON object given as argument `name` (`<fields>`), or read from stdin when the argument is
 * `-` or absent. Absent with stdin a terminal is a usage error rather than a silent wait for input.
 */
export async function jsonArgument(value: string | undefined, name: string, stdin: NodeJS.ReadStream = process.stdin): Promise<JsonObject> {
  if (value !== undefined && value !== '-') return parseJsonObject(value, `argument ${name}`);
  if (value === undefined && stdin.isTTY === true) {
    throw new CliFailure(usageFailure(`give ${name} as an argument, or pipe it in on stdin (or pass - and type it, then Ctrl-D)`));
  }
  const text = await readStdin(stdin);
  if (text.trim() === '') throw new CliFailure(usageFailure(`${name} was to be read from stdin, which was empty`));
  return parseJsonObject(text, `${name} read from stdin`);
}

/** A table name or row key as an argument: those the API cannot address are usage errors, not odd answers. */
export function pathArgument(value: string, name: string): string {
  // An empty segment would address another route (a 404 "no route", read as "no such row").
  if (value === '') throw new CliFailure(usageFailure(`${name} must not be empty`));
  // URLs drop "." and ".." segments (docs/api.md, "Overview").
  if (value === '.' || value === '..') throw new CliFailure(usageFailure(`${name} ${JSON.stringify(value)} cannot be addressed in a URL path`));
  return value;
}
