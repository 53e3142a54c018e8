import { existsSync } from 'node:fs';
import path from 'node:path';
import { binaryCacheDir, findInstalled } from '../../src/tools/go-binary';
import { BINARIES, type BinaryName } from './binaries';
import { urlEndpoint } from './endpoints';
import { isPortOpen } from './ports';
import { findPostgres } from './postgres-setup';

/**
 * What the machine must have before `npm test` or `npm start` starts anything, checked once at
 * their start: a missing one stops the run with one line naming how to install it, instead of
 * failing a test among hundreds (or a service half-way through a start).
 */

/** How the checks look at the machine; a test hands in its own to simulate a missing prerequisite. */
export interface Lookups {
  /** An installed program: on the PATH, in `extraDirs` or in the tools' cache folder. */
  findProgram(name: string, extraDirs?: string[]): Promise<string | undefined>;
  fileExists(file: string): boolean;
  portOpen(host: string, port: number): Promise<boolean>;
  /** The PostgreSQL server's executable, if its binaries are installed. */
  findPostgresServer(): Promise<string | undefined>;
  nodeVersion: string;
}

export const MACHINE: Lookups = {
  findProgram: (name, extraDirs) => findInstalled(name, extraDirs),
  fileExists: existsSync,
  portOpen: (host, port) => isPortOpen(host, port),
  findPostgresServer: () => findPostgres().catch(() => undefined),
  nodeVersion: process.versions.node,
};

export interface Prerequisite {
  name: string;
  /** Test files (relative to the repository) that need it; every run does when not given. */
  neededBy?: string[];
  /** One line saying what is missing and the command that installs it; undefined when present. */
  check(lookups: Lookups): Promise<string | undefined>;
}

/** Thrown with one line per missing prerequisite (usually one). */
export class MissingPrerequisiteError extends Error {
  constructor(readonly lines: string[]) {
    super(lines.join('\n'));
    this.name = 'MissingPrerequisiteError';
    // The lines alone, no stack: jest and `npm start` print what to install, nothing more.
    this.stack = this.message;
  }
}

/** The lines of the missing prerequisites, in the order given. */
export async function missingPrerequisites(list: Prerequisite[], lookups: Lookups = MACHINE): Promise<string[]> {
  const results = await Promise.all(list.map((prerequisite) => prerequisite.check(lookups)));
  return results.filter((line): line is string => line !== undefined);
}

export async function requirePrerequisites(list: Prerequisite[], lookups: Lookups = MACHINE): Promise<void> {
  const missing = await missingPrerequisites(list, lookups);
  if (missing.length > 0) throw new MissingPrerequisiteError(missing);
}

/** Node.js as package.json's `engines` asks. */
export function nodeVersion(minimum = '24'): Prerequisite {
  return {
    name: 'node',
    check(lookups) {
      if (compareVersions(lookups.nodeVersion, minimum) >= 0) return Promise.resolve(undefined);
      return Promise.resolve(
        `Node.js ${minimum} or newer is needed (this is ${lookups.nodeVersion}): install it from https://nodejs.org/en/download`,
      );
    },
  };
}

const GO_DIRS = ['/usr/local/go/bin'];
const GO_INSTALL =
  'install Go 1.23 or newer (https://go.dev/doc/install; or apt-get install golang-go where it is that new)';

/**
 * Go programs this project runs: each installed (PATH or the cache folder), or Go there to build
 * it on first use. nats-server is also a Debian package.
 */
export function goTools(names: BinaryName[], neededBy?: string[]): Prerequisite {
  return {
    name: `go tools (${names.join(', ')})`,
    neededBy,
    async check(lookups) {
      const missing: BinaryName[] = [];
      for (const name of names) {
        if ((await lookups.findProgram(BINARIES[name].name, BINARIES[name].extraDirs)) === undefined)
          missing.push(name);
      }
      if (missing.length === 0 || (await lookups.findProgram('go', GO_DIRS)) !== undefined) return undefined;
      const where = `not on the PATH nor in ${binaryCacheDir()}`;
      if (missing.length === 1 && missing[0] === 'nats-server') {
        return `nats-server is ${where}, and Go is not installed to build it: apt-get install nats-server`;
      }
      return `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} ${where}, and Go is not installed to build ${missing.length > 1 ? 'them' : 'it'}: ${GO_INSTALL}`;
    },
  };
}

/** PostgreSQL answering at `databaseUrl` (the test run makes its databases there). */
export function postgresAnswers(databaseUrl: string, neededBy?: string[]): Prerequisite {
  return {
    name: 'postgres running',
    neededBy,
    async check(lookups) {
      const { host, port } = urlEndpoint(databaseUrl, 5432);
      if (await lookups.portOpen(host, port)) return undefined;
      return `PostgreSQL does not answer at ${host}:${port} (DATABASE_URL): apt-get install postgresql, then start it (pg_ctlcluster <version> main start)`;
    },
  };
}

/** The PostgreSQL server's binaries (initdb, postgres), to start a PostgreSQL of its own. */
export function postgresServer(neededBy?: string[]): Prerequisite {
  return {
    name: 'postgres binaries',
    neededBy,
    async check(lookups) {
      if ((await lookups.findPostgresServer()) !== undefined) return undefined;
      return 'The PostgreSQL server binaries (initdb, postgres) are not installed: apt-get install postgresql';
    },
  };
}

/** Debian's chromium, which the Web UI test drives through playwright-core (no browser download). */
export function chromium(executable: string, neededBy?: string[]): Prerequisite {
  return {
    name: 'chromium',
    neededBy,
    check(lookups) {
      if (lookups.fileExists(executable)) return Promise.resolve(undefined);
      return Promise.resolve(
        `Chromium is not at ${executable} (the Web UI test drives it; CHROMIUM_PATH names another): apt-get install chromium`,
      );
    },
  };
}

/** A command-line program found on the PATH, with the Debian package that installs it. */
export function program(name: string, debianPackage: string, neededBy?: string[]): Prerequisite {
  return {
    name,
    neededBy,
    async check(lookups) {
      if ((await lookups.findProgram(name)) !== undefined) return undefined;
      return `${name} is not on the PATH: apt-get install ${debianPackage}`;
    },
  };
}

/**
 * What `npm test` needs. `runs` says whether a test file (relative to `rootDir`) is part of this
 * run, so a run of a few files is not stopped for what only others need.
 */
export function testPrerequisites(options: {
  env: NodeJS.ProcessEnv;
  databaseUrl: string;
  runs?: (file: string) => boolean;
}): Prerequisite[] {
  const { env } = options;
  const onCluster = env.TEST_TEMPORAL === 'cluster';
  const all: Prerequisite[] = [
    nodeVersion(),
    postgresAnswers(options.databaseUrl),
    goTools([
      'temporal',
      'stripe-mock',
      'nats-server',
      ...(onCluster ? (['temporal-server', 'temporal-sql-tool'] as const) : []),
    ]),
    // test/infra.test.ts starts a PostgreSQL of its own where none answers.
    postgresServer(['test/infra.test.ts']),
    chromium(env.CHROMIUM_PATH ?? '/usr/bin/chromium', ['test/web-ui.test.ts']),
    program('openssl', 'openssl', ['test/security-nats.test.ts', 'test/security-logs.test.ts']),
    // Go also fetches Kubernetes' OpenAPI document for it, once (dev/infra/kubernetes-schemas.ts).
    goTools(['kustomize', 'kubeconform'], ['test/k8s-manifests.test.ts']),
  ];
  const runs = options.runs ?? (() => true);
  return all.filter((prerequisite) => prerequisite.neededBy?.some(runs) ?? true);
}

/**
 * What `npm start` needs for the services it will start: the Temporal CLI always (it registers the
 * search attributes), the rest only when nothing answers at its configured address.
 */
export async function startPrerequisites(
  options: { natsUrl: string; databaseUrl: string; stripeApiBase: string; cluster: boolean },
  lookups: Lookups = MACHINE,
): Promise<Prerequisite[]> {
  const answers = async (url: string, defaultPort: number): Promise<boolean> => {
    const { host, port } = urlEndpoint(url, defaultPort);
    return lookups.portOpen(host, port);
  };
  const [nats, postgres, stripe] = await Promise.all([
    answers(options.natsUrl, 4222),
    answers(options.databaseUrl, 5432),
    answers(options.stripeApiBase, 80),
  ]);
  const tools: BinaryName[] = ['temporal'];
  if (!stripe) tools.push('stripe-mock');
  if (!nats) tools.push('nats-server');
  if (options.cluster) tools.push('temporal-server', 'temporal-sql-tool', 'temporal-ui-server');
  return [nodeVersion(), goTools(tools), ...(postgres ? [] : [postgresServer()])];
}

/**
 * Whether a jest run includes `file` (relative to `rootDir`): every file when no path pattern was
 * given, else those a pattern matches (jest matches them as regular expressions on the path).
 */
export function jestRunIncludes(patterns: readonly string[], rootDir: string): (file: string) => boolean {
  if (patterns.length === 0) return () => true;
  const expressions = patterns.map((pattern) => {
    try {
      return new RegExp(pattern, 'i');
    } catch {
      return undefined;
    }
  });
  // A pattern that is no valid expression: assume it may match anything.
  if (expressions.includes(undefined)) return () => true;
  return (file) => expressions.some((expression) => expression?.test(path.join(rootDir, file)));
}

function compareVersions(a: string, b: string): number {
  const parse = (version: string): number[] => version.replace(/^v/, '').split('.').map(Number);
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i += 1) {
    const difference = (x[i] ?? 0) - (y[i] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}
