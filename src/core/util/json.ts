/**
 * JSON values as the core sees them, their validation and their canonical encoding. Canonical
 * encoding (object keys sorted, no whitespace) is what digests, ids, value ordering and the
 * "byte-identical state" convergence check are computed over.
 */
import { limits } from '../limits.js';

export type JsonScalar = string | number | boolean | null;
export type JsonValue = JsonScalar | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Why a value is not acceptable JSON, or null when it is. */
export function jsonProblem(value: unknown, depth = 0): string | null {
  if (depth > limits.jsonDepthMax) return `nested deeper than ${limits.jsonDepthMax}`;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : 'numbers must be finite';
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        for (const item of value) {
          const p = jsonProblem(item, depth + 1);
          if (p !== null) return p;
        }
        return null;
      }
      const proto = Object.getPrototypeOf(value) as unknown;
      if (proto !== Object.prototype && proto !== null) return 'only plain objects are JSON';
      for (const item of Object.values(value as Record<string, unknown>)) {
        const p = jsonProblem(item, depth + 1);
        if (p !== null) return p;
      }
      return null;
    }
    default:
      return `${typeof value} is not JSON`;
  }
}

export function isJsonScalar(value: unknown): value is JsonScalar {
  return value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** Canonical JSON: object keys in code-unit order, no whitespace. Total on JsonValue. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // -0 and 0 encode alike, which is what JSON.stringify does too.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).filter((k) => record[k] !== undefined).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + canonicalJson(record[k])).join(',') + '}';
}

/** Length of a string in UTF-8 bytes, without Buffer or TextEncoder allocation. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
