/**
 * The demo is a secure cluster (unless --insecure): a CA, a certificate per node and one for the
 * router in `<data>/certs`, and a root token in `<data>/root.token`, made once and kept across runs
 * (and across --fresh, which removes data, not secrets). The APIs serve HTTPS with those
 * certificates; curl trusts the CA and sends the token from `<data>/.curlrc` when CURL_HOME points
 * there, so the tour's lines paste as printed without showing the token.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Credential } from '../../core/strong/access-table.js';
import { demoCluster, demoNodeId } from './config.js';

export interface DemoSecrets {
  /** Paths relative to the data folder, as the configuration names them. */
  readonly ca: string;
  readonly nodes: Readonly<Record<string, { readonly cert: string; readonly key: string }>>;
  readonly router: { readonly cert: string; readonly key: string };
  /** The CA's file (absolute), for the demo's own calls and the tour's curl. */
  readonly caFile: string;
  /** The root token's credential (a fresh salt each run: any salt checks the same token). */
  readonly root: Credential;
  /** Where curl finds the token (.curlrc), for CURL_HOME. */
  readonly curlHome: string;
  readonly tokenFile: string;
}

export async function ensureDemoSecrets(dataDir: string, regions: readonly string[]): Promise<DemoSecrets> {
  const { readCaDir, writePair, writeSecret } = await import('../../security/cert-files.js');
  const { createCa, issueNodeCert, issueRouterCert } = await import('../../security/certs.js');
  const { makeToken, secretCredential } = await import('../../server/auth/tokens.js');
  const certs = path.join(dataDir, 'certs');
  if (!existsSync(path.join(certs, 'ca.key'))) await writePair(certs, 'ca', await createCa({ cluster: demoCluster, validDays: 3650 }), true);
  const { ca } = await readCaDir(certs);
  const nodes: Record<string, { cert: string; key: string }> = {};
  for (const region of regions) {
    const node = demoNodeId(region);
    if (!existsSync(path.join(certs, `${node}.key`))) {
      await writePair(certs, node, await issueNodeCert({ ca, cluster: demoCluster, region, node, hosts: ['127.0.0.1', 'localhost'], validDays: 3000 }), true);
    }
    nodes[region] = { cert: `certs/${node}.crt`, key: `certs/${node}.key` };
  }
  if (!existsSync(path.join(certs, 'router.key'))) await writePair(certs, 'router', await issueRouterCert({ ca, cluster: demoCluster, name: 'router', hosts: ['127.0.0.1', 'localhost'], validDays: 3000 }), true);
  const tokenFile = path.join(dataDir, 'root.token');
  // A kept token gets a credential under a new salt (any salt checks the same token).
  const made = existsSync(tokenFile) ? null : await makeToken('root');
  const token = made?.token ?? readFileSync(tokenFile, 'utf8').trim();
  if (made !== null) await writeSecret(dataDir, 'root.token', `${token}\n`, false);
  const caFile = path.join(certs, 'ca.crt');
  await writeSecret(dataDir, '.curlrc', `header = "authorization: Bearer ${token}"\ncacert = "${caFile}"\n`, true);
  return { ca: 'certs/ca.crt', caFile, nodes, router: { cert: 'certs/router.crt', key: 'certs/router.key' }, root: made?.credential ?? (await secretCredential(token)), curlHome: dataDir, tokenFile };
}
