/**
 * Who a certificate of this cluster names, read from Node's own text of its subject alternative
 * names (`X509Certificate#subjectAltName`, TLS's `getPeerCertificate().subjectaltname`): a node
 * (`URI:tern://<cluster>/<region>/<node>`) or a client (`URI:tern://<cluster>/user/<user>`), the
 * names terndb cert writes. No X.509 library: the node reads identities at every peer handshake.
 * An entry Node had to quote (it held a comma or a quote) never matches, since names are letters,
 * digits, _ and - (names.ts); a certificate with more than one Tern URI names nobody.
 */
import { namePattern, reservedRegion } from './names.js';

export interface NodeIdentity {
  readonly cluster: string;
  readonly region: string;
  readonly node: string;
}

const name = namePattern.source.slice(1, -1);
const uriPattern = new RegExp(`^URI:tern://(${name})/(${name})/(${name})$`);

function onlyTernUri(subjectAltName: string | undefined): [string, string, string] | null {
  const found = (subjectAltName ?? '').split(', ').flatMap((entry) => {
    const m = uriPattern.exec(entry);
    return m === null ? [] : [[m[1], m[2], m[3]] as [string, string, string]];
  });
  return found.length === 1 ? (found[0] as [string, string, string]) : null;
}

/** The node a certificate names, or null (none, a client, or more than one identity). */
export function nodeIdentityOf(subjectAltName: string | undefined): NodeIdentity | null {
  const only = onlyTernUri(subjectAltName);
  return only === null || only[1] === reservedRegion ? null : { cluster: only[0], region: only[1], node: only[2] };
}

/** The cluster and user a client certificate names, or null. */
export function clientIdentityOf(subjectAltName: string | undefined): { readonly cluster: string; readonly user: string } | null {
  const only = onlyTernUri(subjectAltName);
  return only !== null && only[1] === reservedRegion ? { cluster: only[0], user: only[2] } : null;
}

/** The user a client certificate names, or null. */
export function clientUserOf(subjectAltName: string | undefined): string | null {
  return clientIdentityOf(subjectAltName)?.user ?? null;
}
