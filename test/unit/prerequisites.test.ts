import {
  jestRunIncludes,
  missingPrerequisites,
  MissingPrerequisiteError,
  requirePrerequisites,
  startPrerequisites,
  testPrerequisites,
  type Lookups,
} from '../../dev/infra/prerequisites';

/** A machine with everything the README lists, minus what `without` names. */
function machine(without: { programs?: string[]; files?: string[]; ports?: number[]; postgresServer?: boolean } = {}) {
  const lookups: Lookups = {
    findProgram: (name) => Promise.resolve(without.programs?.includes(name) ? undefined : `/usr/local/bin/${name}`),
    fileExists: (file) => !without.files?.includes(file),
    portOpen: (_host, port) => Promise.resolve(!without.ports?.includes(port)),
    findPostgresServer: () =>
      Promise.resolve(without.postgresServer ? undefined : '/usr/lib/postgresql/15/bin/postgres'),
    nodeVersion: '24.0.0',
  };
  return lookups;
}

const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/orders';
const everyFile = testPrerequisites({ env: {}, databaseUrl: DATABASE_URL });

describe('the prerequisites of npm test', () => {
  it('are all there on a machine with what the README lists', async () => {
    expect(await missingPrerequisites(everyFile, machine())).toEqual([]);
    await expect(requirePrerequisites(everyFile, machine())).resolves.toBeUndefined();
  });

  it('name the install command of a missing Chromium, in one line and nothing else', async () => {
    const error = await requirePrerequisites(everyFile, machine({ files: ['/usr/bin/chromium'] })).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MissingPrerequisiteError);
    expect((error as MissingPrerequisiteError).lines).toEqual([
      expect.stringMatching(/^Chromium is not at \/usr\/bin\/chromium .*: apt-get install chromium$/),
    ]);
    // What jest prints for a failed global setup: the line, no stack trace.
    expect((error as Error).stack).toBe((error as Error).message);
    expect((error as Error).message).not.toContain('\n');
  });

  it('look for Chromium where CHROMIUM_PATH says', async () => {
    const list = testPrerequisites({ env: { CHROMIUM_PATH: '/opt/chrome' }, databaseUrl: DATABASE_URL });
    expect(await missingPrerequisites(list, machine({ files: ['/usr/bin/chromium'] }))).toEqual([]);
    expect(await missingPrerequisites(list, machine({ files: ['/opt/chrome'] }))).toEqual([
      expect.stringContaining('apt-get install chromium'),
    ]);
  });

  it('need Go only for the tools that are neither on the PATH nor built yet', async () => {
    // Not installed, but Go is there to build them on first use.
    expect(await missingPrerequisites(everyFile, machine({ programs: ['temporal', 'stripe-mock'] }))).toEqual([]);
    expect(await missingPrerequisites(everyFile, machine({ programs: ['go'] }))).toEqual([]);
    expect(await missingPrerequisites(everyFile, machine({ programs: ['temporal', 'stripe-mock', 'go'] }))).toEqual([
      expect.stringMatching(/^temporal, stripe-mock are not on the PATH nor in .*: install Go 1\.23 or newer/),
    ]);
    expect(await missingPrerequisites(everyFile, machine({ programs: ['nats-server', 'go'] }))).toEqual([
      expect.stringMatching(/: apt-get install nats-server$/),
    ]);
  });

  it('need the cluster tools only for TEST_TEMPORAL=cluster', async () => {
    const lookups = machine({ programs: ['temporal-server', 'go'] });
    expect(await missingPrerequisites(everyFile, lookups)).toEqual([]);
    const onCluster = testPrerequisites({ env: { TEST_TEMPORAL: 'cluster' }, databaseUrl: DATABASE_URL });
    expect(await missingPrerequisites(onCluster, lookups)).toEqual([expect.stringContaining('temporal-server')]);
  });

  it('name PostgreSQL, openssl and an old Node.js', async () => {
    expect(await missingPrerequisites(everyFile, machine({ ports: [5432], programs: ['openssl'] }))).toEqual([
      expect.stringMatching(/^PostgreSQL does not answer at 127\.0\.0\.1:5432 .*apt-get install postgresql/),
      'openssl is not on the PATH: apt-get install openssl',
    ]);
    expect(await missingPrerequisites(everyFile, { ...machine(), nodeVersion: '22.11.0' })).toEqual([
      expect.stringContaining('Node.js 24 or newer is needed (this is 22.11.0)'),
    ]);
  });

  it('leave out what only the test files outside this run need', async () => {
    const rootDir = '/repo';
    const only = (patterns: string[]) =>
      testPrerequisites({ env: {}, databaseUrl: DATABASE_URL, runs: jestRunIncludes(patterns, rootDir) });
    const noChromium = machine({ files: ['/usr/bin/chromium'], postgresServer: true });
    expect(await missingPrerequisites(only(['test/orders-lifecycle.test.ts']), noChromium)).toEqual([]);
    expect(await missingPrerequisites(only(['web-ui']), noChromium)).toEqual([
      expect.stringContaining('apt-get install chromium'),
    ]);
    expect(await missingPrerequisites(only(['test/infra']), noChromium)).toEqual([
      expect.stringContaining('apt-get install postgresql'),
    ]);
    expect(await missingPrerequisites(only([]), noChromium)).toHaveLength(2);
  });

  it('need kustomize and kubeconform (or Go) only for the Kubernetes manifests test', async () => {
    const only = (patterns: string[]) =>
      testPrerequisites({ env: {}, databaseUrl: DATABASE_URL, runs: jestRunIncludes(patterns, '/repo') });
    const noTools = machine({ programs: ['kustomize', 'kubeconform', 'go'] });
    expect(await missingPrerequisites(only(['test/orders-lifecycle.test.ts']), noTools)).toEqual([]);
    expect(await missingPrerequisites(only(['k8s-manifests']), noTools)).toEqual([
      expect.stringMatching(/^kustomize, kubeconform are not on the PATH nor in .*: install Go/),
    ]);
  });
});

describe('the prerequisites of npm start', () => {
  const configured = {
    natsUrl: 'nats://127.0.0.1:4222',
    databaseUrl: DATABASE_URL,
    stripeApiBase: 'http://127.0.0.1:12111',
    cluster: false,
  };

  it('need no nats-server, stripe-mock or PostgreSQL binaries for services that already answer', async () => {
    const lookups = machine({ programs: ['nats-server', 'stripe-mock', 'go'], postgresServer: true });
    expect(await missingPrerequisites(await startPrerequisites(configured, lookups), lookups)).toEqual([]);
  });

  it('need them for the services it has to start', async () => {
    const lookups = machine({ programs: ['stripe-mock', 'go'], ports: [12111, 5432], postgresServer: true });
    expect(await missingPrerequisites(await startPrerequisites(configured, lookups), lookups)).toEqual([
      expect.stringMatching(/^stripe-mock is not on the PATH .*: install Go/),
      'The PostgreSQL server binaries (initdb, postgres) are not installed: apt-get install postgresql',
    ]);
  });
});
