/** The command line of `npm run bench`, parsed simply: `--name value` pairs and a few switches. */

/** An open loop (`--arrival-rate R`) has at most this many seconds' worth of creates (R × it) in flight. */
export const OPEN_LOOP_CAP_SECONDS = 10;

/**
 * `empty-sa` is floor 2 with the service's search attributes (`OrderStatus` at start, one upsert of
 * status, total and payment id when paid): the same billable actions as the service's order.
 */
export type SystemId = 'service' | 'seed' | 'empty' | 'empty-sa';
export type RunPart = SystemId | 'memory';
export const RUN_PARTS: readonly RunPart[] = ['service', 'seed', 'empty', 'empty-sa', 'memory'];

export interface BenchFlags {
  /**
   * `file`: the dev server with a SQLite file, as `npm start` runs it; `memory`: in memory;
   * `cluster`: a Temporal cluster on PostgreSQL, as `npm start -- --cluster` runs it.
   */
  temporal: 'file' | 'memory' | 'cluster';
  /** History processes of the cluster (`--temporal cluster`). */
  historyHosts: number;
  concurrency: number;
  orders: number;
  serialOrders: number;
  /** Orders of the memory run; 0 skips it. */
  memoryOrders: number;
  /** Orders paid one at a time (payment→PAID at 1 in flight). */
  serialPayments: number;
  /** Run the dev server with the CLI's plain defaults instead of the project's tuned settings. */
  untuned: boolean;
  /** Floor 2's activities: normal remote ones (the default) or local ones. */
  emptyActivities: 'remote' | 'local';
  /** Creates without an idempotency key (as a NestJS client of the original service sends them). */
  keyless: boolean;
  /** Processes each of the service's worker and gateway runs as (same task queue, queue group and durable consumer). */
  replicas: number;
  only: RunPart[];
  out: string;
  quick: boolean;
  /** Copy every process's log next to the results. */
  keepLogs: boolean;
  /** V8 CPU profiles of the service's processes, kept with the logs. */
  cpuProfile: boolean;
  /** Dynamic config values added to (or replacing) the dev server's, for A/B runs (`--dynamic-config`). */
  dynamicConfig: Record<string, string | number | boolean>;
  /** Environment variables set for the service's processes, for A/B runs of their settings (`--env`). */
  appEnv: Record<string, string>;
  /** How the service's processes run: compiled (as `npm start`), or through tsx (`--runtime tsx`); the floors' alike. */
  appRuntime: 'compiled' | 'tsx';
  /** Runs of each chosen system, alternating (service, empty, service, empty, …); the report gives medians. */
  alternations: number;
  /** Open loop: creates sent at this rate per second whatever is in flight; null for the closed loop at C. */
  arrivalRate: number | null;
  /** Each order paid this many seconds after its create was answered, overlapping the creates; null: paid after them. */
  paymentDelaySec: number | null;
}

export const USAGE = `Usage: npm run bench -- [options]
  --temporal file|memory|cluster
                           Temporal dev server with a SQLite file (default, as npm start), in memory, or a
                           cluster on PostgreSQL (frontend, matching, worker, history hosts: npm start -- --cluster)
  --history-hosts H        history processes of the cluster (default 2)
  --concurrency C          requests in flight (default 20)
  --orders N               orders created and paid at C in flight, per system (default 1000)
  --serial-orders M        orders created at 1 in flight, per system (default 200)
  --memory-orders K        orders of the memory run against this service (default 10000; 0 skips it)
  --untuned                the dev server with the Temporal CLI's own defaults (no dynamic config, no SQLite pragmas)
  --empty-activities KIND  floor 2's activities: remote (default) or local
  --keyless                creates without an idempotency key, as the original service's NestJS clients
                           send them (the service then bounds placement by a deadline on the database's
                           clock); default: a unique key each
  --replicas R             run the service's worker and gateway as R processes each (default 1)
  --only LIST              a subset, comma-separated: service, seed, empty, empty-sa, memory; empty-sa is
                           floor 2 with the service's search attributes (OrderStatus given at start, one
                           upsert of status, total and payment id when paid, as the service's order does)
  --out DIR                where results go (default bench/results)
  --quick                  a smoke run: C=20 N=200 M=50 K=0
  --keep-logs              copy every process's log to <out>/<timestamp>-<mode>-logs/
  --cpu-profile            V8 CPU profiles (.cpuprofile) of the service's processes, kept with the logs (implies --keep-logs)
  --dynamic-config K=V     a dev server dynamic config value on top of the project's (repeatable; V read as JSON if it parses)
  --env K=V                an environment variable for the service's processes (repeatable), e.g. a worker setting;
                           TEMPORAL_WORKER_MAX_CACHED_WORKFLOWS and TEMPORAL_WORKER_STACK_TRACES reach the empty
                           floor's worker too, so both workers keep the same settings
  --runtime compiled|tsx   the service's processes compiled by npm run build (default, as npm start) or through tsx;
                           the floors' processes run the same way (compiled with esbuild into the run's temp folder)
  --alternations K         run the chosen systems K times, alternately (service, empty, service, empty, ...) on the
                           same stack; the report gives each run and the medians, ratios per alternation (default 1)
  --arrival-rate R         open loop: the N measured creates sent at R per second whatever is in flight (at most
                           ${OPEN_LOOP_CAP_SECONDS}×R in flight), latencies from each create's scheduled time
                           (default: closed loop, C callers)
  --payment-delay D        each order paid D seconds after its create was answered, while the creates go on, so
                           many orders wait for their payment at once (as in production); reports payment→PAID and
                           the peak of orders pending. Also applies to the memory run (then without a window)`;

export function parseFlags(argv: readonly string[]): BenchFlags {
  const flags: BenchFlags = {
    temporal: 'file',
    historyHosts: 2,
    concurrency: 20,
    orders: 1000,
    serialOrders: 200,
    memoryOrders: 10_000,
    serialPayments: 50,
    untuned: false,
    emptyActivities: 'remote',
    keyless: false,
    replicas: 1,
    only: [...RUN_PARTS],
    out: 'bench/results',
    quick: false,
    keepLogs: false,
    cpuProfile: false,
    dynamicConfig: {},
    appEnv: {},
    appRuntime: 'compiled',
    alternations: 1,
    arrivalRate: null,
    paymentDelaySec: null,
  };
  const explicit = new Set<string>();
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] as string;
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=')
        ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)]
        : [arg, undefined];
    const value = (): string => {
      const next = inline ?? argv[++i];
      if (next === undefined) throw new Error(`${name} needs a value\n${USAGE}`);
      return next;
    };
    switch (name) {
      case '--temporal':
        flags.temporal = oneOf(name, value(), ['file', 'memory', 'cluster'] as const);
        break;
      case '--history-hosts':
        flags.historyHosts = count(name, value(), 1);
        break;
      case '--concurrency':
        flags.concurrency = count(name, value(), 1);
        explicit.add('concurrency');
        break;
      case '--orders':
        flags.orders = count(name, value(), 1);
        explicit.add('orders');
        break;
      case '--serial-orders':
        flags.serialOrders = count(name, value(), 0);
        explicit.add('serialOrders');
        break;
      case '--memory-orders':
        flags.memoryOrders = count(name, value(), 0);
        explicit.add('memoryOrders');
        break;
      case '--untuned':
        flags.untuned = true;
        break;
      case '--empty-activities':
        flags.emptyActivities = oneOf(name, value(), ['remote', 'local'] as const);
        break;
      case '--keyless':
        flags.keyless = true;
        break;
      case '--runtime':
        flags.appRuntime = oneOf(name, value(), ['compiled', 'tsx'] as const);
        break;
      case '--replicas':
        flags.replicas = count(name, value(), 1);
        break;
      case '--alternations':
        flags.alternations = count(name, value(), 1);
        break;
      case '--arrival-rate':
        flags.arrivalRate = positive(name, value());
        break;
      case '--payment-delay':
        flags.paymentDelaySec = positive(name, value());
        break;
      case '--only':
        flags.only = value()
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
          .map((part) => {
            if (!(RUN_PARTS as readonly string[]).includes(part))
              throw new Error(`--only takes ${RUN_PARTS.join(', ')}; not ${part}`);
            return part as RunPart;
          });
        break;
      case '--out':
        flags.out = value();
        break;
      case '--quick':
        flags.quick = true;
        break;
      case '--keep-logs':
        flags.keepLogs = true;
        break;
      case '--cpu-profile':
        flags.cpuProfile = true;
        flags.keepLogs = true;
        break;
      case '--dynamic-config': {
        const [key, text] = pair(name, value());
        flags.dynamicConfig[key] = jsonScalar(text);
        break;
      }
      case '--env': {
        const [key, text] = pair(name, value());
        flags.appEnv[key] = text;
        break;
      }
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        process.exit(0);
        break;
      default:
        throw new Error(`Unknown option ${arg}\n${USAGE}`);
    }
  }
  if (flags.quick) {
    // Explicit numbers still win over the smoke-run defaults.
    if (!explicit.has('concurrency')) flags.concurrency = 20;
    if (!explicit.has('orders')) flags.orders = 200;
    if (!explicit.has('serialOrders')) flags.serialOrders = 50;
    if (!explicit.has('memoryOrders')) flags.memoryOrders = 0;
  }
  if (flags.memoryOrders === 0) flags.only = flags.only.filter((part) => part !== 'memory');
  return flags;
}

function count(name: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}, not ${text}`);
  return value;
}

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a number > 0, not ${text}`);
  return value;
}

function oneOf<T extends string>(name: string, text: string, choices: readonly T[]): T {
  const choice = choices.find((candidate) => candidate === text);
  if (choice === undefined) throw new Error(`${name} must be one of ${choices.join(', ')}, not ${text}`);
  return choice;
}

function pair(name: string, text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new Error(`${name} takes KEY=VALUE, not ${text}`);
  return [text.slice(0, at), text.slice(at + 1)];
}

/** `1000`, `true` and `"x"` as JSON; anything else as the string itself. */
function jsonScalar(text: string): string | number | boolean {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'string' || typeof parsed === 'number' || typeof parsed === 'boolean') return parsed;
  } catch {
    // not JSON: a plain string
  }
  return text;
}
