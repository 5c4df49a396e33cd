/** Short text forms for violation messages: they must say what and where on one line. */
import type { Dot, VersionVector } from '../../core/clock/version-vector.js';
import { canonicalJson } from '../../core/util/json.js';

/** `us-east.3`: the form the spec uses for a dot in messages. */
export function fmtDot(d: Dot): string {
  return `${d.origin}.${d.seq}`;
}

export function fmtVector(v: VersionVector): string {
  const parts = Object.keys(v)
    .sort()
    .filter((k) => (v[k] ?? 0) > 0)
    .map((k) => `${k}:${v[k] ?? 0}`);
  return `{${parts.join(',')}}`;
}

/** Canonical JSON, shortened so one violation stays one readable line. */
export function fmtJson(value: unknown, maxChars = 160): string {
  const text = canonicalJson(value);
  return text.length > maxChars ? text.slice(0, maxChars - 1) + '…' : text;
}
