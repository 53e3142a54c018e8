import { ensureBinary } from './binaries';
import { exitedEarlyError, spawnService, type SpawnedService } from './managed-process';
import { SERVICE_TABLE, type ServiceName, type ServiceSpec, type ServiceStartOptions } from './service-table';

/**
 * Starts one service of the table in its own process group and resolves once it serves requests;
 * a service that dies or does not get ready in time is stopped again and the start rejects.
 */
export async function startService<N extends ServiceName>(
  name: N,
  options: ServiceStartOptions[N],
): Promise<SpawnedService> {
  const spec = SERVICE_TABLE[name] as ServiceSpec<ServiceStartOptions[N]>;
  const resolved = { ...options, host: options.host ?? '127.0.0.1' };
  const executable = options.executable ?? (await findExecutable(spec, options.log ?? (() => undefined)));
  const runAs = await spec.prepare?.(resolved, executable);
  const service = await spawnService({
    name,
    command: executable,
    args: await spec.args(resolved),
    logFile: options.logFile,
    detached: options.detached,
    uid: runAs?.uid,
    gid: runAs?.gid,
    stopSignal: spec.stopSignal,
    netns: options.netns,
  });
  try {
    await spec.ready(resolved, executable, options.readyTimeoutMs ?? spec.readyTimeoutMs, () =>
      exitedEarlyError(service),
    );
  } catch (error) {
    await service.stop();
    throw error;
  }
  return service;
}

function findExecutable<O extends ServiceStartOptions[ServiceName]>(
  spec: ServiceSpec<O>,
  log: (line: string) => void,
): Promise<string> {
  return typeof spec.executable === 'function' ? spec.executable() : ensureBinary(spec.executable, log);
}
