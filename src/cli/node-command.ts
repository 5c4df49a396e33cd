/** `terndb node --config FILE --node NAME`: runs one region node until SIGTERM or SIGINT. */
import { Command } from 'commander';
import { ConfigError, loadConfig, type ClusterConfig } from '../server/config.js';
import { NodeServer } from '../server/node-server.js';
import { nodePorts, portProblems } from './ports.js';

export function nodeCommand(): Command {
  return new Command('node')
    .description('run one region node (its HTTP API, peer links and storage) from the cluster configuration')
    .requiredOption('--config <file>', 'cluster configuration (YAML or JSON)')
    .requiredOption('--node <name>', 'the region name or node id to run')
    .addHelpText('after', '\nChecks that its API and peer ports are free before opening anything (exit 1 if not).\nStops cleanly on SIGTERM or SIGINT: finishes the batch in progress, closes links and the database.\nOn SIGHUP, reads its TLS certificates again (rotation without a restart).')
    .action(async (flags: { config: string; node: string }) => {
      let server: NodeServer;
      let config: ClusterConfig;
      try {
        config = loadConfig(flags.config);
        server = new NodeServer(config, flags.node);
      } catch (err) {
        process.stderr.write(`terndb node: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      // Secure by default: plaintext only when the file says so.
      if (config.tls === null && !config.insecure) {
        process.stderr.write(
          `terndb node: ${flags.config} has no tls section, so the regions would talk in plaintext, unauthenticated. Make a cluster CA and a certificate per node:\n` +
            `  terndb cert create-ca --cluster ${config.cluster} --out certs/ca\n` +
            `  terndb cert create-node --ca-dir certs/ca --cluster ${config.cluster} --region <region> --node <node id> --host <its address> --out certs/<node id>\n` +
            `then add tls: {ca: certs/ca/ca.crt} and each node's tls: {cert: ..., key: ...} (docs/security.md), or say insecure: true to run without TLS on purpose\n`,
        );
        process.exitCode = 2;
        return;
      }
      // Before the store is opened or a peer dialled: a taken port is a clear message, not a half start.
      const spec = server.node.spec;
      const i = config.regions.indexOf(spec);
      const taken = await portProblems(nodePorts(spec));
      if (taken.length > 0) {
        for (const p of taken) process.stderr.write(`terndb node: ${p}\n`);
        process.stderr.write(`terndb node: stop what holds it (another node of ${spec.name} still running?) or change regions[${i}].node.api / .peer in ${flags.config}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        await server.run();
      } catch (err) {
        if (err instanceof ConfigError) {
          process.stderr.write(`terndb node: ${err.message}\n`);
          process.exitCode = 2;
          return;
        }
        server.log.fatal({ err }, 'could not start');
        process.exitCode = 1;
        await server.stop().catch(() => undefined);
        return;
      }
      await new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          server.log.info({ signal }, 'stopping');
          server.stop().then(resolve, (err: unknown) => {
            server.log.error({ err }, 'error while stopping');
            process.exitCode = 1;
            resolve();
          });
        };
        // Certificate rotation without a restart: new peer links use the files as they are now.
        process.on('SIGHUP', () => void server.reloadTls());
        process.once('SIGTERM', () => stop('SIGTERM'));
        process.once('SIGINT', () => stop('SIGINT'));
      });
    });
}
