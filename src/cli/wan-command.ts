/** `terndb wan --config FILE`: the latency and partition emulator alone. */
import { Command } from 'commander';
import pino from 'pino';
import { loadConfig, type ClusterConfig } from '../server/config.js';
import { WanEmulator } from '../wan/wan-emulator.js';
import { portProblems, wanPorts } from './ports.js';

export function wanCommand(): Command {
  return new Command('wan')
    .description('run the WAN emulator: a delaying TCP proxy on every link between regions, with a control API')
    .requiredOption('--config <file>', 'cluster configuration (YAML or JSON) with a wan section')
    .addHelpText('after', `
Listens on wan.control and on one link port per ordered pair of regions (wan.linkPortBase + i·n + j);
checks that each is free before listening on any (exit 1 if not).

Control API (at wan.control):
  GET  /v1/wan              links, round trips and state
  POST /v1/wan/partition    {"isolate":"us-east"} or {"groups":[["us-east"],["eu-west","ap-south"]]}
  POST /v1/wan/heal         restore every link
  PUT  /v1/wan/rtt          {"us-east/eu-west": 120}`)
    .action(async (flags: { config: string }) => {
      let wan: WanEmulator;
      let config: ClusterConfig;
      const log = pino({ name: 'terndb-wan' });
      try {
        config = loadConfig(flags.config);
        wan = new WanEmulator(config, log);
      } catch (err) {
        process.stderr.write(`terndb wan: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      const taken = await portProblems(wanPorts(config));
      if (taken.length > 0) {
        for (const p of taken) process.stderr.write(`terndb wan: ${p}\n`);
        process.stderr.write(`terndb wan: stop what holds it (an emulator still running?) or change wan.control / wan.linkPortBase in ${flags.config}\n`);
        process.exitCode = 1;
        return;
      }
      try {
        await wan.run();
      } catch (err) {
        // Taken between the check and the listen (a race), or refused: close what did open.
        process.stderr.write(`terndb wan: could not listen: ${(err as Error).message}\n`);
        process.exitCode = 1;
        await wan.stop().catch(() => undefined);
        return;
      }
      await new Promise<void>((resolve) => {
        const stop = () => void wan.stop().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
