/**
 * How the peer transport gets its sockets: plain TCP, or mutual TLS under the cluster's CA. The
 * transport's protocol (hello, welcome, frames) is the same over both; this is the one seam.
 *
 * Under TLS a link is accepted only if the peer's certificate was signed by the cluster CA and is
 * valid now (both checked by the TLS handshake, both ways), and names this cluster and a region and
 * node of it (`tern://<cluster>/<region>/<node>` in its subject alternative names). The hello sent
 * inside the link must then claim the very region and node the certificate names, and that node
 * must be the one the configuration gives for the region (the transport checks that, with the
 * identity this module hands it). Outbound, the answering node's certificate must name the region
 * we dialled. A refusal at the TLS handshake is logged with its reason.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { RegionId } from '../../core/clock/version-vector.js';
import type { HostPort } from '../config.js';
import { nodeIdentityOf, type NodeIdentity } from '../../security/identity.js';
import { nodeLimits } from '../limits.js';

/** What a peer's certificate says it is. */
export type PeerIdentity = NodeIdentity;

/** PEM texts: the cluster CA, and this node's certificate and key. */
export interface TlsMaterial {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

export interface PeerSockets {
  /** True when links are mutually authenticated (TLS); the transport then demands an identity. */
  readonly secure: boolean;
  /** A listener whose links reach `onLink` once secured, with the peer's verified identity under TLS (null in plain TCP). */
  createServer(onLink: (socket: net.Socket, identity: PeerIdentity | null) => void): net.Server;
  /** Dials `region` (its node `node`, when the configuration names one) at `address`; `onReady` runs once the link is secured (it may carry the hello then). */
  connect(address: HostPort, region: RegionId, onReady: () => void, node?: string): net.Socket;
  /** Takes new certificates for links made from now on (links up stay: they were checked when made). */
  reload(material: TlsMaterial): void;
}

export const plainSockets: PeerSockets = {
  secure: false,
  createServer: (onLink) => net.createServer((socket) => onLink(socket, null)),
  connect: (address, _region, onReady) => net.connect({ host: address.host, port: address.port }, onReady),
  reload: () => {
    throw new Error('this node runs without TLS: there are no certificates to reload');
  },
};



/** Mutual TLS (1.3) under the cluster CA; `material` is read again by reload. */
export function tlsSockets(cluster: string, first: TlsMaterial, log: Logger): PeerSockets {
  let material = first;
  let context = tls.createSecureContext({ ...material, minVersion: 'TLSv1.3' });
  const servers = new Set<tls.Server>();
  return {
    secure: true,
    createServer(onLink) {
      // The TLS handshake gets the same time as the hello after it (Node's default is 120 s: a few
      // silent connections could hold every slot of the peer port that long).
      const server = tls.createServer({ ...material, minVersion: 'TLSv1.3', requestCert: true, rejectUnauthorized: true, handshakeTimeout: nodeLimits.handshakeMs }, (socket) => {
        const identity = nodeIdentityOf(socket.getPeerCertificate().subjectaltname);
        if (identity === null || identity.cluster !== cluster) {
          log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, identity }, `refused a peer link: its certificate names no node of cluster ${cluster}`);
          socket.destroy();
          return;
        }
        onLink(socket, identity);
      });
      // Wrong CA, expired or not yet valid, no certificate, or plain TCP: the handshake fails here.
      server.on('tlsClientError', (err, socket) => {
        log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, reason: tlsReason(err) }, 'refused a peer link at the TLS handshake');
      });
      servers.add(server);
      server.on('close', () => servers.delete(server));
      return server;
    },
    connect(address, region, onReady, node) {
      const socket = tls.connect({
        host: address.host,
        port: address.port,
        secureContext: context,
        // The peer is known by its certificate's node name, not by the address we dialled (which may be
        // the WAN emulator's): the CA's signature is checked by TLS; here, that it is the region dialled.
        checkServerIdentity: (_host, cert) => {
          const id = nodeIdentityOf(cert.subjectaltname);
          if (id === null || id.cluster !== cluster) return new Error(`the certificate names no node of cluster ${cluster}`);
          if (id.region !== region) return new Error(`the certificate is for region ${id.region}, not ${region}`);
          if (node !== undefined && id.node !== node) return new Error(`the certificate is for node ${id.node}, but the configuration's node for ${region} is ${node}`);
          return undefined;
        },
      });
      socket.once('secureConnect', onReady);
      socket.on('error', (err: Error & { code?: string }) => {
        // A peer that is down is retried quietly (the transport logs links going up and down); a
        // certificate refused is worth a line at every try.
        if (!networkErrors.has(err.code ?? '')) log.warn({ peer: region, address: `${address.host}:${address.port}`, reason: tlsReason(err) }, 'peer link refused at the TLS handshake');
      });
      return socket;
    },
    reload(next) {
      // Build first: a bad key or certificate throws here and the old ones stay in use.
      const nextContext = tls.createSecureContext({ ...next, minVersion: 'TLSv1.3' });
      for (const server of servers) server.setSecureContext({ ...next, minVersion: 'TLSv1.3' });
      material = next;
      context = nextContext;
    },
  };
}

const networkErrors = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

function tlsReason(err: Error & { code?: string }): string {
  return err.code !== undefined ? `${err.code}: ${err.message}` : err.message;
}
