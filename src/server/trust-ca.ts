/**
 * Makes this process's fetch trust the cluster CA besides the system's roots: the nodes' APIs
 * serve certificates the cluster CA signed (tls.api), and a node fetches snapshots from another,
 * the router probes and forwards to them, tests and the demo call them. Node's own fetch reads its
 * dispatcher from a process-wide slot that undici's setGlobalDispatcher sets (undici 6, the line
 * Node 20 bundles), so one call covers every fetch of the process.
 */
import tls from 'node:tls';
import { Agent, setGlobalDispatcher } from 'undici';

export function trustCa(caPem: string): void {
  setGlobalDispatcher(new Agent({ connect: { ca: [...tls.rootCertificates, caPem] } }));
}
