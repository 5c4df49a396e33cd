/**
 * The user a request's client certificate names, when the API serves HTTPS: the TLS handshake
 * already checked the certificate against the cluster CA (`socket.authorized`; the server asks for
 * a certificate but lets a client without one in, to send a token instead). Here, only whose it
 * is: `tern://<cluster>/user/<user>` of this cluster (terndb cert create-client). The region core
 * then checks that the user exists, so deleting the user revokes the certificate too. Read once
 * per connection: a connection's certificate does not change.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { clientIdentityOf } from '../../security/identity.js';

const users = new WeakMap<Socket, string | null>();

/**
 * The user a verified client certificate of `cluster` names on this connection, or null. Never the
 * root user: root is not in the log, so a certificate of root could not be revoked short of
 * replacing the CA (root authenticates with its token only).
 */
export function certificateUser(socket: Socket, cluster: string, rootUser: string): string | null {
  const known = users.get(socket);
  if (known !== undefined) return known;
  let user: string | null = null;
  const tlsSocket = socket as Partial<TLSSocket>;
  if (tlsSocket.encrypted === true && tlsSocket.authorized === true && typeof tlsSocket.getPeerCertificate === 'function') {
    const id = clientIdentityOf(tlsSocket.getPeerCertificate().subjectaltname);
    user = id !== null && id.cluster === cluster && id.user !== rootUser ? id.user : null;
  }
  users.set(socket, user);
  return user;
}
