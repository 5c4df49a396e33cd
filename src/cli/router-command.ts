/** `terndb router --config FILE`: one front for every region of the cluster (src/router/router.ts). */
import { Command } from 'commander';
import pino from 'pino';
import { Router } from '../router/router.js';
import { ConfigError, loadConfig, urlHost, parseHostPort, routerDefaults, type ClusterConfig, type RouterSpec } from '../server/config.js';
import { portProblems } from './ports.js';
import { loadRouterTlsMaterial } from '../server/tls-material.js';
import { nodeSecret } from '../server/auth/node-secret.js';
import type { TlsMaterial } from '../server/transport/sockets.js';

export function routerCommand(): Command {
  return new Command('router')
    .description('serve every region behind one address: requests go to a ready region, the nearest first')
    .requiredOption('--config <file>', 'cluster configuration (YAML or JSON); its router section, if any, gives the defaults')
    .option('--api <host:port>', 'where to listen (default: router.api of the file)')
    .option('--region <name>', "this router's own region: requests without a Tern-Client-Region header prefer it (default: router.region, else the nearest)")
    .addHelpText('after', '\nRun one per region (each with its own --api and --region); routers share nothing. GET /v1/router/status\nshows every region as the router sees it; /metrics has its Prometheus metrics.\n\nExample:\n  terndb router --config cluster.yaml --api 127.0.0.1:7000 --region us-east')
    .action(async (flags: { config: string; api?: string; region?: string }) => {
      let config: ClusterConfig;
      let spec: RouterSpec;
      let tls: TlsMaterial | null;
      try {
        config = loadConfig(flags.config);
        const base = config.router;
        if (flags.api === undefined && base === null) throw new ConfigError('router', 'give --api host:port, or a router section with api in the configuration');
        const api = flags.api !== undefined ? parseHostPort(flags.api, '--api') : (base as RouterSpec).api;
        const region = flags.region ?? base?.region ?? null;
        if (region !== null && !config.regions.some((r) => r.name === region)) throw new ConfigError('--region', `must be one of the regions (${config.regions.map((r) => r.name).join(', ')}), not ${region}`);
        spec = { ...routerDefaults, tls: null, ...base, api, region };
        // Secure by default, as terndb node: plaintext only when the file says so.
        if (config.tls === null && !config.insecure) {
          throw new ConfigError('tls', `${flags.config} has no tls section, so the router would serve and forward plaintext HTTP; add tls: {ca} and router: {tls: {cert, key}} (terndb cert create-router makes them), or say insecure: true to run without TLS on purpose`);
        }
        // A secure cluster's router serves HTTPS and trusts the cluster CA for the nodes' (exit 2 on a bad file).
        tls = loadRouterTlsMaterial(config);
      } catch (err) {
        process.stderr.write(`terndb router: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const taken = await portProblems([{ ...spec.api, what: 'router API' }]);
      if (taken.length > 0) {
        for (const p of taken) process.stderr.write(`terndb router: ${p}\n`);
        process.exitCode = 1;
        return;
      }
      const log = pino({ name: 'terndb' }).child({ component: 'router', region: spec.region });
      if (config.insecure) log.warn('insecure: true: the router serves plaintext HTTP and calls the nodes over HTTP');
      // Probes use this process's fetch: it trusts the cluster CA.
      if (tls !== null) await (await import('../server/trust-ca.js')).trustCa(tls.ca);
      const scheme = tls !== null ? 'https' : 'http';
      const router = new Router({
        cluster: config.cluster,
        region: spec.region,
        regions: config.regions.map((r) => ({ name: r.name, url: `${scheme}://${urlHost(r.node.api.host)}:${r.node.api.port}` })),
        strongTables: Object.entries(config.tables).filter(([, p]) => p.mode === 'strong').map(([t]) => t),
        probeIntervalMs: spec.probeIntervalMs,
        failThreshold: spec.failThreshold,
        attemptTimeoutMs: spec.attemptTimeoutMs,
        maxInflight: spec.maxInflight,
        log,
        ...(tls !== null ? { tls: { key: tls.key, cert: tls.cert, ca: tls.ca } } : {}),
        nodeAuth: nodeSecret(config),
      });
      await router.listen(spec.api.host, spec.api.port);
      log.info({ api: `${scheme}://${urlHost(spec.api.host)}:${spec.api.port}`, regions: config.regions.map((r) => r.name) }, 'router listening');
      // SIGHUP: the router's certificate and the CA again (rotation without a restart); a file that does not load keeps the old ones.
      const reload = () => {
        try {
          const next = loadRouterTlsMaterial(loadConfig(flags.config));
          if (next === null) return void log.warn('SIGHUP: the router runs without TLS; nothing to reload');
          router.setTls(next);
          void import('../server/trust-ca.js').then((m) => m.trustCa(next.ca));
          log.info('SIGHUP: reloaded the router certificate; new connections get it');
        } catch (err) {
          log.error({ reason: (err as Error).message }, 'SIGHUP: the TLS files did not load; the router keeps the ones it had');
        }
      };
      process.on('SIGHUP', reload);
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping');
          process.off('SIGHUP', reload);
          void router.close().then(() => {
            log.info('router stopped');
            resolve();
          });
        };
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
