/** `terndb wan --config FILE`: the latency and partition emulator alone. */
import { Command } from 'commander';
import pino from 'pino';
import { loadConfig } from '../server/config.js';
import { WanEmulator } from '../wan/wan-emulator.js';

export function wanCommand(): Command {
  return new Command('wan')
    .description('run the WAN emulator: a delaying TCP proxy on every link between regions, with a control API')
    .requiredOption('--config <file>', 'cluster configuration (YAML or JSON) with a wan section')
    .addHelpText('after', `
Control API (at wan.control):
  GET  /v1/wan              links, round trips and state
  POST /v1/wan/partition    {"isolate":"us-east"} or {"groups":[["us-east"],["eu-west","ap-south"]]}
  POST /v1/wan/heal         restore every link
  PUT  /v1/wan/rtt          {"us-east/eu-west": 120}`)
    .action(async (flags: { config: string }) => {
      let wan: WanEmulator;
      const log = pino({ name: 'terndb-wan' });
      try {
        wan = new WanEmulator(loadConfig(flags.config), log);
      } catch (err) {
        process.stderr.write(`terndb wan: ${(err as Error).message}\n`);
        process.exitCode = 2;
        return;
      }
      await wan.run();
      await new Promise<void>((resolve) => {
        const stop = () => void wan.stop().then(resolve);
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}
