/** `terndb router --config FILE`: one front for every region of the cluster (src/router/router.ts). */
import { Command } from 'commander';
import pino from 'pino';
import { Router } from '../router/router.js';
import { ConfigError, loadConfig, parseHostPort, routerDefaults, type ClusterConfig, type RouterSpec } from '../server/config.js';
import { portProblems } from './ports.js';

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
      try {
        config = loadConfig(flags.config);
        const base = config.router;
        if (flags.api === undefined && base === null) throw new ConfigError('router', 'give --api host:port, or a router section with api in the configuration');
        const api = flags.api !== undefined ? parseHostPort(flags.api, '--api') : (base as RouterSpec).api;
        const region = flags.region ?? base?.region ?? null;
        if (region !== null && !config.regions.some((r) => r.name === region)) throw new ConfigError('--region', `must be one of the regions (${config.regions.map((r) => r.name).join(', ')}), not ${region}`);
        spec = { ...routerDefaults, ...base, api, region };
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
      const router = new Router({
        cluster: config.cluster,
        region: spec.region,
        regions: config.regions.map((r) => ({ name: r.name, url: `http://${r.node.api.host}:${r.node.api.port}` })),
        strongTables: Object.entries(config.tables).filter(([, p]) => p.mode === 'strong').map(([t]) => t),
        probeIntervalMs: spec.probeIntervalMs,
        failThreshold: spec.failThreshold,
        attemptTimeoutMs: spec.attemptTimeoutMs,
        maxInflight: spec.maxInflight,
        log,
      });
      await router.listen(spec.api.host, spec.api.port);
      log.info({ api: `http://${spec.api.host}:${spec.api.port}`, regions: config.regions.map((r) => r.name) }, 'router listening');
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          log.info({ signal }, 'stopping');
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
