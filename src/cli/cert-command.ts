/**
 * `terndb cert create-ca | create-node | create-client | create-router | create-root-token`: the certificates of a secure cluster
 * (src/security/certs.ts). The X.509 library is loaded only when a subcommand runs, so it costs
 * other commands nothing at start-up.
 */
import { X509Certificate } from 'node:crypto';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CertAndKey } from '../security/certs.js';
import { CertInputError, hostProblem, nameProblem, regionProblem } from '../security/names.js';
import { intOption } from './options.js';

/** The option behind each field a certificate function can reject. */
const optionOf: Record<string, string> = { name: '--name', cluster: '--cluster', region: '--region', node: '--node', user: '--user', hosts: '--host', validDays: '--days', ca: '--ca-dir', caDir: '--ca-dir', out: '--out' };

const checked = (problem: (v: string) => string | null) => (value: string) => {
  const p = problem(value);
  if (p !== null) throw new InvalidArgumentError(p);
  return value;
};
const name = checked(nameProblem);
const days = intOption('--days', 1, 3650);
const defaultHosts = ['127.0.0.1', 'localhost'];

/** --host is repeatable; the first one given replaces the defaults. */
function host(value: string, previous: string[]): string[] {
  checked(hostProblem)(value);
  return previous === defaultHosts ? [value] : [...previous, value];
}

const validTo = (pem: string) => new Date(new X509Certificate(pem).validTo).toISOString();

/** Runs one subcommand: bad input exits 2 naming the option, any other failure 1. */
async function run(command: string, body: () => Promise<string[]>): Promise<number> {
  try {
    process.stdout.write(`${(await body()).join('\n')}\n`);
    return 0;
  } catch (err) {
    if (err instanceof CertInputError) {
      process.stderr.write(`terndb cert ${command}: ${optionOf[err.field] ?? err.field}: ${err.problem}\n`);
      return 2;
    }
    process.stderr.write(`terndb cert ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

/** A node or user named "ca" written into --ca-dir would replace the CA's own files, even with --force. */
function notOverCa(caDir: string, out: string, fileName: string): void {
  if (fileName === 'ca' && path.resolve(caDir) === path.resolve(out)) throw new CertInputError('out', `ca.crt and ca.key in ${out} are the CA's own; choose another --out`);
}

/**
 * The days to ask for: --days as given; by default 365, cut to what is left of the CA (a leaf may
 * not outlive its CA), saying so in `notes`.
 */
function leafDays(command: Command, ca: CertAndKey, notes: string[]): number {
  const asked = command.opts<{ days: number }>().days;
  if (command.getOptionValueSource('days') !== 'default') return asked;
  const caEnd = Date.parse(new X509Certificate(ca.certPem).validTo);
  const left = Math.floor((caEnd - Date.now()) / 86_400_000);
  if (left >= asked) return asked;
  notes.push(`note: the CA expires on ${new Date(caEnd).toISOString()}, so the certificate is valid for ${left} days, not ${asked}`);
  return left;
}

/** Loads the CA of --ca-dir, passing on its warning. */
async function loadCa(dir: string): Promise<CertAndKey> {
  const { readCaDir } = await import('../security/cert-files.js');
  const { ca, warning } = await readCaDir(dir);
  if (warning !== null) process.stderr.write(`terndb cert: warning: ${warning}\n`);
  return ca;
}

function subcommand(commandName: string): Command {
  // Subcommands added with addCommand do not inherit the parent's settings: usage errors must reach runCli (exit 2).
  return new Command(commandName).exitOverride().showHelpAfterError('(run with --help for usage)');
}

function createCaCommand(): Command {
  return subcommand('create-ca')
    .description("create a cluster's certificate authority: ca.crt (trusted by every node and client) and ca.key (signs certificates)")
    .requiredOption('--cluster <name>', 'the cluster the CA is for (letters, digits, _ and -)', name)
    .requiredOption('--out <dir>', 'where to write ca.crt and ca.key (created, mode 0700, if missing)')
    .option('--days <n>', 'days the CA is valid, 1 to 3650', days, 3650)
    .option('--force', 'replace an existing ca.crt and ca.key (every certificate the old CA signed stops being trusted)')
    .addHelpText('after', '\nca.key is written with mode 0600: keep it where certificates are issued, not on the nodes.\n\nExample:\n  terndb cert create-ca --cluster prod --out secrets/ca')
    .action(async (flags: { cluster: string; out: string; days: number; force?: boolean }) => {
      process.exitCode = await run('create-ca', async () => {
        const { checkFree, writePair } = await import('../security/cert-files.js');
        checkFree(flags.out, 'ca', flags.force === true);
        const { createCa } = await import('../security/certs.js');
        const pair = await createCa({ cluster: flags.cluster, validDays: flags.days });
        const files = await writePair(flags.out, 'ca', pair, flags.force === true);
        return [
          `wrote ${files.cert}: the CA of cluster ${flags.cluster}, valid until ${validTo(pair.certPem)}; every node and client trusts it`,
          `wrote ${files.key}: its private key (mode 0600); keep it secret, it signs every certificate`,
          'next: a certificate for each node, e.g.',
          `  terndb cert create-node --ca-dir ${flags.out} --cluster ${flags.cluster} --region <region> --node <node-id> --host <host> --out <dir>`,
        ];
      });
    });
}

function createNodeCommand(): Command {
  return subcommand('create-node')
    .description("issue a node's certificate (server and client, for its API and its peer links), signed by the cluster CA")
    .requiredOption('--ca-dir <dir>', 'the directory with ca.crt and ca.key (from create-ca)')
    .requiredOption('--cluster <name>', 'the cluster (must be the CA\'s)', name)
    .requiredOption('--region <name>', 'the region the node serves', checked(regionProblem))
    .requiredOption('--node <id>', 'the node id (the certificate\'s common name)', name)
    .addOption(new Option('--host <host>', 'a DNS name or IP address the node is reached at; repeat for each').default(defaultHosts, '127.0.0.1 and localhost').argParser(host))
    .requiredOption('--out <dir>', 'where to write <node>.crt and <node>.key (created, mode 0700, if missing)')
    .option('--days <n>', "days the certificate is valid, 1 to 3650 (the default is cut to the CA's end)", days, 365)
    .option('--force', 'replace an existing <node>.crt and <node>.key')
    .addHelpText('after', '\nThe certificate names tern://<cluster>/<region>/<node> and every --host, so it serves the node\'s API and\nits peer port alike.\n\nExample:\n  terndb cert create-node --ca-dir secrets/ca --cluster prod --region us-east --node us-east-1 \\\n    --host db1.us-east.example.com --host 10.0.1.5 --out secrets/us-east-1')
    .action(async (flags: { caDir: string; cluster: string; region: string; node: string; host: string[]; out: string; days: number; force?: boolean }, command: Command) => {
      process.exitCode = await run('create-node', async () => {
        const { checkFree, writePair } = await import('../security/cert-files.js');
        notOverCa(flags.caDir, flags.out, flags.node);
        checkFree(flags.out, flags.node, flags.force === true);
        const ca = await loadCa(flags.caDir);
        const { issueNodeCert } = await import('../security/certs.js');
        const notes: string[] = [];
        const pair = await issueNodeCert({ ca, cluster: flags.cluster, region: flags.region, node: flags.node, hosts: flags.host, validDays: leafDays(command, ca, notes) });
        const files = await writePair(flags.out, flags.node, pair, flags.force === true);
        return [
          ...notes,
          `wrote ${files.cert}: node ${flags.node} of region ${flags.region}, cluster ${flags.cluster} (tern://${flags.cluster}/${flags.region}/${flags.node}; hosts ${flags.host.join(', ')}), valid until ${validTo(pair.certPem)}`,
          `wrote ${files.key}: its private key (mode 0600)`,
          `next: put ${flags.node}.crt, ${flags.node}.key and ${flags.caDir}/ca.crt on the node's machine (ca.key stays where certificates are issued)`,
        ];
      });
    });
}

function createClientCommand(): Command {
  return subcommand('create-client')
    .description('issue a client certificate whose common name is the user, signed by the cluster CA')
    .requiredOption('--ca-dir <dir>', 'the directory with ca.crt and ca.key (from create-ca)')
    .requiredOption('--cluster <name>', 'the cluster (must be the CA\'s)', name)
    .requiredOption('--user <name>', 'the user the certificate authenticates (not root: root authenticates with its token, which the configuration can replace)', (v: string) => {
      if (v === 'root') throw new InvalidArgumentError('root authenticates with its token only: a certificate of root could not be revoked without replacing the CA; make a user with cluster admin instead');
      return name(v);
    })
    .requiredOption('--out <dir>', 'where to write <user>.crt and <user>.key (created, mode 0700, if missing)')
    .option('--days <n>', "days the certificate is valid, 1 to 3650 (the default is cut to the CA's end)", days, 365)
    .option('--force', 'replace an existing <user>.crt and <user>.key')
    .addHelpText('after', '\nThe certificate names tern://<cluster>/user/<user> and is good for client authentication only.\n\nExample:\n  terndb cert create-client --ca-dir secrets/ca --cluster prod --user alice --out secrets/alice')
    .action(async (flags: { caDir: string; cluster: string; user: string; out: string; days: number; force?: boolean }, command: Command) => {
      process.exitCode = await run('create-client', async () => {
        const { checkFree, writePair } = await import('../security/cert-files.js');
        notOverCa(flags.caDir, flags.out, flags.user);
        checkFree(flags.out, flags.user, flags.force === true);
        const ca = await loadCa(flags.caDir);
        const { issueClientCert } = await import('../security/certs.js');
        const notes: string[] = [];
        const pair = await issueClientCert({ ca, cluster: flags.cluster, user: flags.user, validDays: leafDays(command, ca, notes) });
        const files = await writePair(flags.out, flags.user, pair, flags.force === true);
        return [
          ...notes,
          `wrote ${files.cert}: user ${flags.user} of cluster ${flags.cluster} (tern://${flags.cluster}/user/${flags.user}), valid until ${validTo(pair.certPem)}`,
          `wrote ${files.key}: its private key (mode 0600)`,
          `next: give ${flags.user}.crt and ${flags.user}.key to the user; with ${flags.caDir}/ca.crt their client authenticates to the cluster's nodes`,
        ];
      });
    });
}

function createRouterCommand(): Command {
  return subcommand('create-router')
    .description("issue a router's certificate (server only, for the HTTPS it serves clients), signed by the cluster CA")
    .requiredOption('--ca-dir <dir>', 'the directory with ca.crt and ca.key (from create-ca)')
    .requiredOption('--cluster <name>', 'the cluster (must be the CA\'s)', name)
    .option('--name <name>', "the router's name (the certificate's common name and the files' names)", name, 'router')
    .addOption(new Option('--host <host>', 'a DNS name or IP address clients reach the router at; repeat for each').default(defaultHosts, '127.0.0.1 and localhost').argParser(host))
    .requiredOption('--out <dir>', 'where to write <name>.crt and <name>.key (created, mode 0700, if missing)')
    .option('--days <n>', "days the certificate is valid, 1 to 3650 (the default is cut to the CA's end)", days, 365)
    .option('--force', 'replace an existing <name>.crt and <name>.key')
    .addHelpText('after', "\nThe certificate names every --host and is good for serving only: it is no peer's and no user's. Name the\nfiles in the cluster file's router section: router: {api, tls: {cert, key}}.\n\nExample:\n  terndb cert create-router --ca-dir secrets/ca --cluster prod --host router.example.com --out secrets/router")
    .action(async (flags: { caDir: string; cluster: string; name: string; host: string[]; out: string; days: number; force?: boolean }, command: Command) => {
      process.exitCode = await run('create-router', async () => {
        const { checkFree, writePair } = await import('../security/cert-files.js');
        notOverCa(flags.caDir, flags.out, flags.name);
        checkFree(flags.out, flags.name, flags.force === true);
        const ca = await loadCa(flags.caDir);
        const { issueRouterCert } = await import('../security/certs.js');
        const notes: string[] = [];
        const pair = await issueRouterCert({ ca, cluster: flags.cluster, name: flags.name, hosts: flags.host, validDays: leafDays(command, ca, notes) });
        const files = await writePair(flags.out, flags.name, pair, flags.force === true);
        return [
          ...notes,
          `wrote ${files.cert}: router ${flags.name} of cluster ${flags.cluster} (hosts ${flags.host.join(', ')}), valid until ${validTo(pair.certPem)}`,
          `wrote ${files.key}: its private key (mode 0600)`,
          `next: name them in the cluster file (router: {tls: {cert: ${files.cert}, key: ${files.key}}}); clients trust ${flags.caDir}/ca.crt`,
        ];
      });
    });
}

function createRootTokenCommand(): Command {
  return subcommand('create-root-token')
    .description("make the root user's token for a cluster that requires authentication: the token to a file, its credential for the configuration")
    .requiredOption('--out <dir>', 'where to write root.token (mode 0600; the directory is created 0700 if missing)')
    .option('--force', 'replace an existing root.token')
    .addHelpText('after', '\nThe token is written only to the file; what is printed is its credential (a salt and a scrypt hash), to put in\nthe cluster file as auth: {root: {salt, hash}}. Nodes then require a token on every call but /livez, /readyz\nand /metrics; root makes the other users (PUT /v1/users/:name, docs/security.md).\n\nExample:\n  terndb cert create-root-token --out secrets/root')
    .action(async (flags: { out: string; force?: boolean }) => {
      process.exitCode = await run('create-root-token', async () => {
        const { writeSecret } = await import('../security/cert-files.js');
        const { makeToken } = await import('../server/auth/tokens.js');
        const made = await makeToken('root');
        const file = await writeSecret(flags.out, 'root.token', `${made.token}\n`, flags.force === true);
        return [
          `wrote ${file}: the root user's token (mode 0600); send it as Authorization: Bearer $(cat ${file})`,
          'add to the cluster file (the same on every node), then restart the nodes:',
          `auth: { root: { salt: ${made.credential.salt}, hash: ${made.credential.hash} } }`,
        ];
      });
    });
}

export function certCommand(): Command {
  return new Command('cert')
    .description('make the certificates of a secure cluster: its CA, node, client and router certificates, and the root token')
    .addCommand(createCaCommand())
    .addCommand(createNodeCommand())
    .addCommand(createClientCommand())
    .addCommand(createRouterCommand())
    .addCommand(createRootTokenCommand())
    .addHelpText('after', '\nPeer links use mutual TLS with the cluster CA; a node certificate names its cluster, region and node, a\nclient certificate its user; nodes and routers serve their APIs over HTTPS with their certificates. Private keys are written with mode 0600, certificates 0644; an existing file\nis replaced only with --force. Exit codes: 0 written, 1 could not write, 2 bad usage (the option is named).\n\nExamples:\n  terndb cert create-ca --cluster prod --out secrets/ca\n  terndb cert create-node --ca-dir secrets/ca --cluster prod --region us-east --node us-east-1 --out secrets/us-east-1\n  terndb cert create-client --ca-dir secrets/ca --cluster prod --user alice --out secrets/alice\n  terndb cert create-router --ca-dir secrets/ca --cluster prod --host router.example.com --out secrets/router');
}
