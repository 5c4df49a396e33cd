/**
 * A running region node: the runtime shell, its HTTP API and its metrics, with run() and stop().
 */
import { X509Certificate } from 'node:crypto';
import pino, { type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { rootUser, urlHost, type ClusterConfig } from './config.js';
import { buildApi } from './http-api.js';
import { NodeMetrics } from './metrics.js';
import { RegionNode } from './region-node.js';
import { builtinMergeFunctions } from './merge-functions.js';
import { loadTlsMaterial } from './tls-material.js';
import { trustCa } from './trust-ca.js';
import { Authenticator } from './auth/authenticator.js';
import { isNodeSecret, nodeSecret } from './auth/node-secret.js';
import { ok } from '../core/errors.js';
import { nodeLimits, type NodeLimits } from './limits.js';
import { testLimitsFromEnv } from './test-limits.js';

export interface NodeServerOptions {
  readonly log?: Logger;
  readonly onFatal?: (err: unknown) => void;
  /** Overrides nodeLimits (tests reach them with small values); TERN_TEST_NODE_LIMITS (test-limits.ts) over these. */
  readonly limits?: Partial<NodeLimits>;
}

export class NodeServer {
  readonly node: RegionNode;
  readonly metrics: NodeMetrics;
  readonly api: FastifyInstance;
  readonly log: Logger;
  readonly #config: ClusterConfig;
  /** The CA read at start, for run() (reloads read it again); null without TLS. With TLS the client API serves HTTPS too. */
  readonly #tlsCa: string | null;

  constructor(config: ClusterConfig, nameOrId: string, options: NodeServerOptions = {}) {
    const spec = config.regions.find((r) => r.name === nameOrId || r.node.id === nameOrId);
    if (spec === undefined) throw new Error(`no region or node named ${nameOrId} in the configuration (regions: ${config.regions.map((r) => `${r.name} (${r.node.id})`).join(', ')})`);
    this.log = (options.log ?? pino({ name: 'terndb' })).child({ region: spec.name, node: spec.node.id });
    this.metrics = new NodeMetrics(spec.name, () => (this.node ? { status: () => this.node.status(), metrics: () => this.node.metrics() } : null));
    this.#config = config;
    const overrides = { ...options.limits, ...testLimitsFromEnv() };
    const limits: NodeLimits = { ...nodeLimits, ...overrides };
    if (Object.keys(overrides).length > 0) this.log.warn({ limits: overrides }, 'node limits overridden (a test setting)');
    // Read and checked before anything opens: a bad certificate is an error naming the field (exit 2).
    const tls = loadTlsMaterial(config, spec);
    this.#tlsCa = tls?.ca ?? null;

    this.node = new RegionNode(config, spec.name, {
      log: this.log,
      tls,
      ...(options.onFatal ? { onFatal: options.onFatal } : {}),
      limits,
      onRemoteApply: (lagMs, origin) => this.metrics.applyLag.observe({ origin }, lagMs / 1000),
    });
    const node = this.node;
    // Tokens are checked against the users this region's strong state holds now (and root's, the configuration's).
    const authenticator = config.auth === null ? null : new Authenticator({ user: (name) => node.user(name), rootUser, rootCredential: config.auth.root });
    const secret = nodeSecret(config);
    this.api = buildApi({
      cluster: config.cluster,
      region: spec.name,
      nodeId: spec.node.id,
      submit: (call) => node.submit(call),
      authenticate: (header) => (authenticator === null ? Promise.resolve(ok(undefined)) : authenticator.authenticate(header)),
      isNode: (sent) => isNodeSecret(sent, secret),
      knownUser: (header) => authenticator?.knownUser(header) ?? null,
      authRequired: config.auth !== null,
      metricsProtected: config.auth?.metrics === 'users',
      rootUser,
      readiness: () => node.status(),
      backup: () => node.backup(),
      snapshots: node.snapshots,
      tables: () => node.tables(),
      regions: config.regions.map((r) => r.name),
      mergeFunctions: Object.keys(builtinMergeFunctions),
      metrics: this.metrics,
    }, {
      bodyBytesInFlightMax: limits.apiBodyBytesInFlightMax,
      bodyBytesKeptForSmallMin: limits.apiBodyBytesKeptForSmallMin,
      ...(tls !== null ? { https: { key: tls.key, cert: tls.cert, ca: tls.ca } } : {}),
      // A burst of 0 means one second's worth.
      rateLimit: { perSecond: config.settings.clientRequestsPerSecond, burst: Math.max(1, config.settings.clientRequestBurst || config.settings.clientRequestsPerSecond) },
    });
    // Past this many open connections Node closes a new one at once (nodeLimits.apiConnectionsMax).
    this.api.server.maxConnections = limits.apiConnectionsMax;
  }

  async run(): Promise<void> {
    // Plaintext is said at every start: anyone who reaches the peer port may then join as a peer.
    if (this.#config.insecure) this.log.warn('insecure: true: peer links are plaintext and unauthenticated (any process that reaches the peer port can claim a region); use tls in production (terndb cert)');
    else if (this.#config.tls === null) this.log.warn('no tls section in the configuration: peer links are plaintext and unauthenticated; add tls: {ca} and each node\'s tls: {cert, key} (terndb cert makes them), or say insecure: true to run so on purpose');
    // The nodes' APIs serve certificates of the cluster CA: this process's fetches
    // (snapshots from a donor) trust it.
    if (this.#tlsCa !== null) await trustCa(this.#tlsCa);
    await this.node.run();
    const { host, port } = this.node.spec.node.bind.api;
    await this.api.listen({ host, port });
    // Listening is not readiness: the stage (and each change of it) is logged as `stage ...`.
    const { stage, reason } = this.node.status().stage;
    this.log.info({ api: `${this.#tlsCa !== null ? 'https' : 'http'}://${urlHost(host)}:${port}`, peer: `${this.node.spec.node.peer.host}:${this.node.spec.node.peer.port}`, stage, reason }, `region node listening, ${stage}${reason !== null ? ` (${reason})` : ''}: /readyz says when it serves`);
  }

  /**
   * Reads the certificates again (SIGHUP): peer links made from now on use them; links up stay (they
   * were authenticated when made). A file that does not load is logged and the old ones stay.
   */
  reloadTls(): boolean {
    try {
      const material = loadTlsMaterial(this.#config, this.node.spec);
      if (material === null) {
        this.log.warn('SIGHUP: this node runs without TLS; nothing to reload');
        return false;
      }
      this.node.reloadTls(material);
      // The CA file may have changed (a move to a new CA): this process's fetches trust the new one.
      void trustCa(material.ca);
      // The API's certificate too: connections from now on get it.
      (this.api.server as unknown as { setSecureContext(o: { key: string; cert: string; ca: string }): void }).setSecureContext({ key: material.key, cert: material.cert, ca: material.ca });
      const cert = new X509Certificate(material.cert);
      this.log.info({ fingerprint: cert.fingerprint256, validTo: cert.validTo }, 'SIGHUP: reloaded the TLS certificates; new peer links use them');
      return true;
    } catch (err) {
      this.log.error({ reason: (err as Error).message }, 'SIGHUP: the TLS certificates did not load; the node keeps the ones it had');
      return false;
    }
  }

  /** Stops taking requests, finishes the batch in progress, closes links and the store. */
  async stop(): Promise<void> {
    // Requests in progress get a few seconds; then connections are closed, so one slow client
    // cannot hold a shutdown (Node stops enforcing request timeouts once the server closes).
    const grace = setTimeout(() => this.api.server.closeAllConnections(), 5_000);
    try {
      await this.api.close();
    } finally {
      clearTimeout(grace);
    }
    await this.node.stop();
    this.log.info('region node stopped');
  }
}
