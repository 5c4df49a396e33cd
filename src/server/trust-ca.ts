/**
 * Makes this process's fetch trust the cluster CA besides the system's roots: the nodes' APIs
 * serve certificates the cluster CA signed (whenever the cluster has TLS), and a node fetches snapshots from another;
 * tests call them too. Node's own fetch reads its dispatcher from a process-wide slot that undici's
 * setGlobalDispatcher sets (undici 6, the line Node 20 bundles), so one call covers every fetch of
 * the process. undici is loaded here only, when it is needed: every terndb command would otherwise
 * pay for it at start (about 130 ms here).
 */
import tls from 'node:tls';

export async function trustCa(caPem: string): Promise<void> {
  const { Agent, setGlobalDispatcher } = await import('undici');
  setGlobalDispatcher(new Agent({ connect: { ca: [...tls.rootCertificates, caPem] } }));
}
