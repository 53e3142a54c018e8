import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../dev/infra/ports';
import { startService } from '../../dev/infra/start-service';

export interface PrivateNats {
  url: string;
  stop(): Promise<void>;
}

/**
 * A NATS server with JetStream for one test file, for tests that delete or reshape the PAYMENTS
 * stream: the run's shared server (and the audit at its end) never sees what they do.
 */
export async function startPrivateNats(): Promise<PrivateNats> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'orders-private-nats-'));
  const port = await freePort();
  const server = await startService('nats', {
    port,
    storeDir: path.join(dir, 'store'),
    detached: false,
    logFile: path.join(dir, 'nats.log'),
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
