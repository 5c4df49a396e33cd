/**
 * The input rules of the certificate tools, without the X.509 library, so the CLI can check its
 * options before it loads anything heavy.
 */
import { isIP } from 'node:net';

/** A bad input to a certificate function; `field` names it (`cluster`, `hosts`, `validDays`, `ca`...). */
export class CertInputError extends Error {
  override readonly name = 'CertInputError';
  constructor(
    readonly field: string,
    /** What is wrong, without the field (the CLI puts the option's name in front instead). */
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

// Names go into a URI (tern://cluster/region/node) and a common name unescaped: this keeps them safe in both.
export const namePattern = /^[A-Za-z0-9_-]{1,63}$/;

/** Why `value` is not a valid cluster, region, node or user name, or null when it is. */
export function nameProblem(value: string): string | null {
  return namePattern.test(value) ? null : `must be 1 to 63 letters, digits, _ or - (got ${JSON.stringify(value)})`;
}

export function checkName(field: string, value: string): void {
  const problem = nameProblem(value);
  if (problem !== null) throw new CertInputError(field, problem);
}

// Client certificates name `tern://<cluster>/user/<user>`: a region called "user" would read as a client.
export const reservedRegion = 'user';

export function regionProblem(value: string): string | null {
  return nameProblem(value) ?? (value === reservedRegion ? `"${reservedRegion}" is reserved for client certificates; choose another region name` : null);
}

export function checkRegion(value: string): void {
  const problem = regionProblem(value);
  if (problem !== null) throw new CertInputError('region', problem);
}

export const maxValidDays = 3650;

/** Why `value` is not a whole number of days from 1 to 3650, or null when it is. */
export function validDaysProblem(value: number): string | null {
  return Number.isSafeInteger(value) && value >= 1 && value <= maxValidDays ? null : `must be an integer from 1 to ${maxValidDays} (got ${value})`;
}

const dnsLabel = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** What a host becomes in a certificate: an IP address or a DNS name. */
export type HostName = { kind: 'ip' | 'dns'; value: string };

/** Classifies `host` as an IP address or a DNS name; null when it is neither (wildcards are not accepted). */
export function parseHost(host: string): HostName | null {
  if (isIP(host) !== 0) return { kind: 'ip', value: host };
  if (host.length > 253) return null;
  return host.split('.').every((label) => dnsLabel.test(label)) ? { kind: 'dns', value: host.toLowerCase() } : null;
}

export function hostProblem(host: string): string | null {
  return parseHost(host) === null ? `must be an IP address or a DNS name such as db1.example.com (got ${JSON.stringify(host)})` : null;
}
