import type { Config } from '../config';

/**
 * tctl's syntax for the operator tasks of the README, translated to the Temporal CLI (`temporal`).
 * tctl is end-of-support and cannot be built here, but runbooks are written in it. Pure: no
 * process, no I/O; `src/scripts/tctl.ts` runs what this returns.
 */

export class TctlUsageError extends Error {
  override readonly name = 'TctlUsageError';
}

export const TCTL_USAGE = `usage: npm run tctl -- [--address HOST:PORT] [--namespace|--ns NS] workflow <command> [flags]
  workflow query    --workflow_id|-w ID [--run_id|-r RUN] --query_type|--qt TYPE [--input|-i JSON]
  workflow list     [--query|-q QUERY] [--pagesize|--ps N]
  workflow count    [--query|-q QUERY]
  workflow describe --workflow_id|-w ID [--run_id|-r RUN]
  workflow show     --workflow_id|-w ID [--run_id|-r RUN]
  workflow signal   --workflow_id|-w ID [--run_id|-r RUN] --name|-n NAME [--input|-i JSON]
Runs the same command with the Temporal CLI; address and namespace default to TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE.`;

/** A tctl flag: its names (long ones as tctl spells them, with underscores) and the `temporal` flag it becomes. */
interface FlagSpec {
  names: readonly string[];
  temporal: string;
  required?: boolean;
}

const GLOBAL_FLAGS: readonly FlagSpec[] = [
  { names: ['address', 'ad'], temporal: '--address' },
  { names: ['namespace', 'ns'], temporal: '--namespace' },
];

const WORKFLOW_ID: FlagSpec = { names: ['workflow_id', 'wid', 'w'], temporal: '--workflow-id', required: true };
const RUN_ID: FlagSpec = { names: ['run_id', 'rid', 'r'], temporal: '--run-id' };
const INPUT: FlagSpec = { names: ['input', 'i'], temporal: '--input' };
const QUERY: FlagSpec = { names: ['query', 'q'], temporal: '--query' };

const COMMANDS: Readonly<Record<string, readonly FlagSpec[]>> = {
  query: [WORKFLOW_ID, RUN_ID, { names: ['query_type', 'qt'], temporal: '--name', required: true }, INPUT],
  // tctl shows one page without --more: its page size is how many rows are shown.
  list: [QUERY, { names: ['pagesize', 'ps'], temporal: '--limit' }],
  count: [QUERY],
  describe: [WORKFLOW_ID, RUN_ID],
  show: [WORKFLOW_ID, RUN_ID],
  signal: [WORKFLOW_ID, RUN_ID, { names: ['name', 'n'], temporal: '--name', required: true }, INPUT],
};

const WORKFLOW_ALIASES = new Set(['workflow', 'wf']);

/** `env`: variables to add to the Temporal CLI's environment (secrets, which a command line would show in `ps`). */
export type TctlPlan = { kind: 'help' } | { kind: 'run'; args: string[]; env: Record<string, string> };

/** The Temporal CLI flags for the configured connection: TLS and its files, as the services use them. */
export function temporalConnectionFlags(config: Config['temporal']): string[] {
  const flags: string[] = [];
  if (config.tls) flags.push('--tls');
  if (config.tlsCaFile !== undefined) flags.push('--tls-ca-path', config.tlsCaFile);
  if (config.tlsCertFile !== undefined) flags.push('--tls-cert-path', config.tlsCertFile);
  if (config.tlsKeyFile !== undefined) flags.push('--tls-key-path', config.tlsKeyFile);
  if (config.tlsServerName !== undefined) flags.push('--tls-server-name', config.tlsServerName);
  return flags;
}

/**
 * The API key goes to the Temporal CLI in its environment variable, which it reads as `--api-key`:
 * on the command line, anyone on the machine could read it with `ps`.
 */
export function temporalConnectionEnv(config: Config['temporal']): Record<string, string> {
  return config.apiKey === undefined ? {} : { TEMPORAL_API_KEY: config.apiKey };
}

interface ParsedFlag {
  spec: FlagSpec;
  value: string;
}

/** `--name value`, `--name=value`, `-n value`, `-n=value`, as tctl (urfave/cli) reads them. */
function readFlags(
  tokens: readonly string[],
  specs: readonly FlagSpec[],
  where: string,
): { flags: ParsedFlag[]; positionals: string[] } {
  const flags: ParsedFlag[] = [];
  const positionals: string[] = [];
  for (let index = 0; index < tokens.length; index += 1) {
    const token = tokens[index] as string;
    if (!token.startsWith('-') || token === '-') {
      positionals.push(token);
      continue;
    }
    const body = token.replace(/^--?/, '');
    const equals = body.indexOf('=');
    const name = equals === -1 ? body : body.slice(0, equals);
    const spec = specs.find((candidate) => candidate.names.includes(name));
    if (spec === undefined) throw new TctlUsageError(`tctl ${where}: unsupported flag ${token.split('=')[0]}`);
    let value: string | undefined;
    if (equals !== -1) value = body.slice(equals + 1);
    else {
      value = tokens[index + 1];
      index += 1;
    }
    if (value === undefined) throw new TctlUsageError(`tctl ${where}: flag ${token} needs a value`);
    flags.push({ spec, value });
  }
  return { flags, positionals };
}

/** As tctl's help writes them: one letter after one dash, longer names after two. */
const flagLabel = (spec: FlagSpec): string =>
  spec.names.map((name) => (name.length === 1 ? `-${name}` : `--${name}`)).join('|');

/**
 * The `temporal` arguments for a tctl command line, or a TctlUsageError naming the unsupported
 * command or flag. Global flags are taken before or after the command; the last one given wins.
 */
export function translateTctl(argv: readonly string[], connection: Config['temporal']): TctlPlan {
  if (argv.some((token) => token === '--help' || token === '-h')) return { kind: 'help' };
  const firstCommand = argv.findIndex((token, index) => !token.startsWith('-') && !isGlobalValue(argv, index));
  if (firstCommand === -1) throw new TctlUsageError(`tctl: no command given\n${TCTL_USAGE}`);
  const group = argv[firstCommand] as string;
  if (!WORKFLOW_ALIASES.has(group))
    throw new TctlUsageError(
      `tctl: unsupported command '${group}' (supported: workflow ${Object.keys(COMMANDS).join('|')})`,
    );
  const command = argv[firstCommand + 1];
  if (command === undefined || command.startsWith('-')) {
    throw new TctlUsageError(`tctl workflow: no command given (supported: ${Object.keys(COMMANDS).join(', ')})`);
  }
  const specs = COMMANDS[command];
  if (specs === undefined) {
    throw new TctlUsageError(
      `tctl: unsupported command 'workflow ${command}' (supported: ${Object.keys(COMMANDS).join(', ')})`,
    );
  }
  const where = `workflow ${command}`;
  const tokens = [...argv.slice(0, firstCommand), ...argv.slice(firstCommand + 2)];
  const { flags, positionals } = readFlags(tokens, [...GLOBAL_FLAGS, ...specs], where);
  if (positionals.length > 0) throw new TctlUsageError(`tctl ${where}: unexpected argument '${positionals[0]}'`);

  const last = (spec: FlagSpec): string | undefined => flags.filter((flag) => flag.spec === spec).at(-1)?.value;
  for (const spec of specs) {
    if (spec.required && last(spec) === undefined)
      throw new TctlUsageError(`tctl ${where}: missing ${flagLabel(spec)}`);
  }
  const args = ['workflow', command];
  for (const spec of specs) {
    const value = last(spec);
    if (value !== undefined) args.push(spec.temporal, value);
  }
  const [address, namespace] = GLOBAL_FLAGS as [FlagSpec, FlagSpec];
  args.push('--address', last(address) ?? connection.address, '--namespace', last(namespace) ?? connection.namespace);
  args.push(...temporalConnectionFlags(connection));
  return { kind: 'run', args, env: temporalConnectionEnv(connection) };
}

/** Whether argv[index] is the value of a global flag written as two tokens (`--ns default`). */
function isGlobalValue(argv: readonly string[], index: number): boolean {
  const previous = argv[index - 1];
  if (previous === undefined || !previous.startsWith('-') || previous.includes('=')) return false;
  const name = previous.replace(/^--?/, '');
  return GLOBAL_FLAGS.some((spec) => spec.names.includes(name));
}
