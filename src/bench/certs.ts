/**
 * The certificates of a benchmark's secure cluster: a CA and a certificate per node in
 * `<dir>/certs`, named as the cluster file names them (relative to `dir`), and this process's
 * fetch made to trust the CA (the nodes' APIs then serve HTTPS with those certificates).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface BenchCerts {
  /** The CA's file, relative to `dir` (for the cluster file's tls.ca). */
  readonly ca: string;
  /** The CA itself (PEM), for the load generator's HTTPS. */
  readonly caPem: string;
  readonly nodes: Record<string, { cert: string; key: string }>;
}

/** `nodes`: region → node id. */
export async function makeBenchCerts(dir: string, cluster: string, nodes: Readonly<Record<string, string>>): Promise<BenchCerts> {
  const { createCa, issueNodeCert } = await import('../security/certs.js');
  const certs = path.join(dir, 'certs');
  mkdirSync(certs, { recursive: true });
  const ca = await createCa({ cluster, validDays: 2 });
  writeFileSync(path.join(certs, 'ca.crt'), ca.certPem);
  const files: Record<string, { cert: string; key: string }> = {};
  for (const [region, node] of Object.entries(nodes)) {
    const c = await issueNodeCert({ ca, cluster, region, node, hosts: ['127.0.0.1'], validDays: 1 });
    writeFileSync(path.join(certs, `${node}.crt`), c.certPem);
    writeFileSync(path.join(certs, `${node}.key`), c.keyPem, { mode: 0o600 });
    files[region] = { cert: `certs/${node}.crt`, key: `certs/${node}.key` };
  }
  const { trustCa } = await import('../server/trust-ca.js');
  await trustCa(ca.certPem);
  return { ca: 'certs/ca.crt', caPem: ca.certPem, nodes: files };
}
