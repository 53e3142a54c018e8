import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection, WorkflowClient } from '@temporalio/client';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { ManagedProcess } from '../dev/infra/managed-process';
import { freePorts, isPortOpen } from '../dev/infra/ports';
import { readPidFiles } from '../dev/infra/pid-files';
import { PAYMENT_STREAM } from '../src/nats/payment-stream';
import { ensureInfrastructure, stopRecordedServices } from '../dev/infra/ensure-infrastructure';

const SERVICES = ['temporal', 'nats', 'postgres', 'stripe-mock'];

/** Runs ensureInfrastructure and returns what it did per service, as printed. */
async function ensure(dataDir: string, env: NodeJS.ProcessEnv, temporalUiPort?: number) {
  const lines: string[] = [];
  const infra = await ensureInfrastructure({ dataDir, env, temporalUiPort, log: (line) => lines.push(line) });
  const actions: Record<string, string> = {};
  for (const line of lines) {
    const match = /^(\S+)\s+(reused|started)\b/.exec(line);
    if (match?.[1] !== undefined && match[2] !== undefined) actions[match[1]] = match[2];
  }
  return { infra, actions, lines };
}

function searchAttributes(temporalCli: string, address: string): Record<string, string> {
  const output = execFileSync(
    temporalCli,
    ['operator', 'search-attribute', 'list', '--address', address, '-o', 'json'],
    {
      encoding: 'utf8',
    },
  );
  return (JSON.parse(output) as { customAttributes: Record<string, string> }).customAttributes;
}

describe('ensureInfrastructure', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'orders-infra-test-'));
    // PostgreSQL, when started here, runs as the postgres user and must reach its folder.
    chmodSync(dataDir, 0o755);
  });

  afterEach(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('reuses services that already answer, twice, starting nothing', async () => {
    for (let run = 0; run < 2; run++) {
      const { infra, actions } = await ensure(dataDir, process.env);
      expect(actions).toEqual({ temporal: 'reused', nats: 'reused', postgres: 'reused', 'stripe-mock': 'reused' });
      expect(infra.started).toEqual([]);
      expect(infra.temporalAddress).toBe(process.env.TEMPORAL_ADDRESS);
      expect(infra.databaseUrl).toBe(process.env.DATABASE_URL);
    }
    expect(readPidFiles(dataDir)).toEqual([]);

    // It also prepared what the services need: the payment stream and the search attributes.
    const nats = await connect({ servers: process.env.NATS_URL });
    try {
      const info = await (await jetstreamManager(nats)).streams.info(PAYMENT_STREAM);
      expect(info.config.subjects).toContain('payment.succeeded');
    } finally {
      await nats.close();
    }
    expect(searchAttributes(process.env.TEMPORAL_CLI ?? '', process.env.TEMPORAL_ADDRESS ?? '')).toMatchObject({
      OrderStatus: 'INDEXED_VALUE_TYPE_KEYWORD',
      OrderTotal: 'INDEXED_VALUE_TYPE_DOUBLE',
      PaymentId: 'INDEXED_VALUE_TYPE_KEYWORD',
    });
  });

  describe('where nothing answers', () => {
    const owned: ManagedProcess[] = [];

    afterEach(async () => {
      // Whatever happened in the test, leave nothing running.
      await Promise.all(owned.map((service) => service.stop()));
      await stopRecordedServices(dataDir, () => undefined);
    });

    it('starts every service, reuses them on a second run, keeps workflows across a restart', async () => {
      const [temporalPort, uiPort, natsPort, postgresPort, stripePort] = (await freePorts(5)) as [
        number,
        number,
        number,
        number,
        number,
      ];
      const env = {
        ...process.env,
        TEMPORAL_ADDRESS: `127.0.0.1:${temporalPort}`,
        NATS_URL: `nats://127.0.0.1:${natsPort}`,
        DATABASE_URL: `postgres://postgres@127.0.0.1:${postgresPort}/orders`,
        STRIPE_API_BASE: `http://127.0.0.1:${stripePort}`,
      };

      const first = await ensure(dataDir, env, uiPort);
      owned.push(...first.infra.started);
      expect(first.actions).toEqual({
        temporal: 'started',
        nats: 'started',
        postgres: 'started',
        'stripe-mock': 'started',
      });
      expect(first.infra.started.map((service) => service.name).sort()).toEqual([...SERVICES].sort());
      expect(first.infra.temporalUiUrl).toBe(`http://localhost:${uiPort}`);
      expect(readdirSync(path.join(dataDir, 'pids')).sort()).toEqual(SERVICES.map((name) => `${name}.pid`).sort());
      expect(first.lines).toContainEqual(expect.stringMatching(/^migrations\s+applied 001_/));
      expect(await isPortOpen('127.0.0.1', uiPort)).toBe(true);

      const second = await ensure(dataDir, env, uiPort);
      expect(second.actions).toEqual({
        temporal: 'reused',
        nats: 'reused',
        postgres: 'reused',
        'stripe-mock': 'reused',
      });
      expect(second.infra.started).toEqual([]);
      expect(second.lines).toContainEqual(expect.stringMatching(/^migrations\s+up to date/));

      // A workflow started now must still be there after Temporal restarts on the same data folder.
      const workflowId = 'infra-test-persistence';
      await withClient(env.TEMPORAL_ADDRESS, (client) =>
        client.start('NoWorkerNeeded', { taskQueue: 'infra-test', workflowId, args: [] }),
      );
      const temporal = first.infra.started.find((service) => service.name === 'temporal');
      await temporal?.stop();
      expect(await isPortOpen('127.0.0.1', temporalPort)).toBe(false);

      const third = await ensure(dataDir, env, uiPort);
      owned.push(...third.infra.started);
      expect(third.actions).toEqual({
        temporal: 'started',
        nats: 'reused',
        postgres: 'reused',
        'stripe-mock': 'reused',
      });
      const description = await withClient(env.TEMPORAL_ADDRESS, (client) => client.getHandle(workflowId).describe());
      expect(description.status.name).toBe('RUNNING');
      expect(searchAttributes(third.infra.temporalBinary, env.TEMPORAL_ADDRESS)).toMatchObject({
        OrderStatus: 'INDEXED_VALUE_TYPE_KEYWORD',
      });

      // `npm run infra -- stop` stops them from their pid files.
      const stopped: string[] = [];
      await stopRecordedServices(dataDir, (line) => stopped.push(line));
      expect(stopped.filter((line) => /\bstopped\b/.test(line))).toHaveLength(SERVICES.length);
      for (const port of [temporalPort, natsPort, postgresPort, stripePort]) {
        expect(await isPortOpen('127.0.0.1', port)).toBe(false);
      }
      expect(readdirSync(path.join(dataDir, 'pids'))).toEqual([]);
    }, 180_000);
  });
});

async function withClient<T>(address: string, use: (client: WorkflowClient) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ address });
  try {
    return await use(new WorkflowClient({ connection }));
  } finally {
    await connection.close();
  }
}
