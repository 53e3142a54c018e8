import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exitedEarlyError, spawnService, type SpawnedService } from '../managed-process';
import { waitForPort } from '../ports';
import { renderUiConfig } from './server-config';

export interface UiServerOptions {
  binary: string;
  /** Its configuration goes to `<dir>/ui-config/ui.yaml`. */
  dir: string;
  host: string;
  port: number;
  temporalAddress: string;
  namespace: string;
  logFile: string;
  detached: boolean;
  readyTimeoutMs: number;
}

/** The standalone Temporal Web UI (ui-server), resolved once it accepts connections. */
export async function startUiServer(options: UiServerOptions): Promise<SpawnedService> {
  const configDir = path.join(options.dir, 'ui-config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(
    path.join(configDir, 'ui.yaml'),
    renderUiConfig({ host: options.host, port: options.port, temporalAddress: options.temporalAddress, namespace: options.namespace }),
  );
  const service = await spawnService({
    name: 'temporal-ui',
    command: options.binary,
    args: ['--root', options.dir, '--config', 'ui-config', '--env', 'ui', 'start'],
    logFile: options.logFile,
    detached: options.detached,
  });
  try {
    await waitForPort(options.host, options.port, options.readyTimeoutMs, () => exitedEarlyError(service));
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}
