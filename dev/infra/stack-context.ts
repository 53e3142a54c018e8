import { chmodSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, type Config } from '../../src/config';
import type { ManagedProcess } from './managed-process';
import { removePidFile, writePidFile } from './pid-files';
import { startReaper, type Reaper } from './reaper';
import type { InfraName, Stack, StackOptions } from './stack';

/** Where the services answer, configured or private. */
export type ServiceEndpoints = Pick<
  Stack,
  'temporalAddress' | 'temporalUiUrl' | 'natsUrl' | 'databaseUrl' | 'stripeApiBase' | 'paymentsUrl'
>;

interface OwnedProcess {
  infra: InfraName;
  process: ManagedProcess;
}

/**
 * What the parts of one stack share: its options and configuration, its folder and logs, and the
 * services it started (owned, stopped with it, and told to the reaper and the caller).
 */
export class StackContext {
  readonly log: (line: string) => void;
  readonly configured: boolean;
  readonly sourceEnv: Record<string, string | undefined>;
  readonly config: Config | undefined;
  readonly dir: string;
  /** Set once the stack stops: from then on an app's exit is expected. */
  stopping = false;
  private readonly ownsDir: boolean;
  private readonly reaper: Reaper | undefined;
  private readonly owned: OwnedProcess[] = [];

  /** Reads the configuration, and makes the folder (and the reaper watching it). */
  constructor(readonly options: StackOptions) {
    this.log = options.log;
    this.configured = options.services === 'configured';
    this.sourceEnv = options.env ?? process.env;
    this.config = this.configured || options.postgres === 'configured' ? parseConfig(this.sourceEnv) : undefined;
    this.ownsDir = options.dir === undefined;
    if (this.configured && this.ownsDir) throw new Error('configured services need a data folder (dir)');
    this.dir = options.dir ?? mkdtempSync(path.join(os.tmpdir(), options.dirPrefix ?? 'orders-stack-'));
    // PostgreSQL runs as the postgres user when we are root and must reach its data folder in here.
    if (this.ownsDir) chmodSync(this.dir, 0o755);
    for (const folder of [this.dir, path.join(this.dir, 'logs')]) mkdirSync(folder, { recursive: true });
    this.reaper = options.reaper ? startReaper(this.dir) : undefined;
  }

  logFile(name: string): string {
    return path.join(this.dir, 'logs', `${name}.log`);
  }

  checkAborted(): void {
    if (this.options.signal?.aborted) throw new Error('the start was interrupted');
  }

  /** Owns a started service: stopped with the stack, and with configured services recorded in a pid file. */
  own(infra: InfraName, service: ManagedProcess, pidName = service.name): ManagedProcess {
    let entry = service;
    if (this.configured) {
      writePidFile(this.dir, pidName, service.pid);
      entry = {
        name: service.name,
        pid: service.pid,
        stop: async () => {
          await service.stop();
          removePidFile(this.dir, pidName);
        },
      };
    }
    this.owned.push({ infra, process: entry });
    return entry;
  }

  /** Tells the reaper and the caller about a process started. */
  watch(name: string, pid: number): void {
    this.reaper?.track(pid);
    this.options.onStarted?.(name, pid);
  }

  forget(pid: number): void {
    this.reaper?.forget(pid);
  }

  /** Tells the reaper about a database made for this stack, dropped if the owner dies first. */
  watchDatabase(databaseUrl: string): void {
    this.reaper?.trackDatabase(databaseUrl);
  }

  forgetDatabase(databaseUrl: string): void {
    this.reaper?.forgetDatabase(databaseUrl);
  }

  owns(infra: InfraName): boolean {
    return this.owned.some((entry) => entry.infra === infra);
  }

  pidOf(infra: InfraName): number | undefined {
    return this.owned.find((entry) => entry.infra === infra)?.process.pid;
  }

  started(): ManagedProcess[] {
    return this.owned.map((entry) => entry.process);
  }

  async stopInfra(name: InfraName): Promise<void> {
    const entries = this.owned.filter((entry) => entry.infra === name).reverse();
    for (const entry of entries) {
      await entry.process.stop();
      this.forget(entry.process.pid);
      this.owned.splice(this.owned.indexOf(entry), 1);
      if (this.configured) this.log(`${entry.process.name.padEnd(12)} stopped`);
    }
    if (entries.length > 0) this.options.onStopped?.(name);
  }

  /** Every service owned, newest first. */
  async stopAllInfra(): Promise<void> {
    for (const name of [...new Set(this.owned.map((entry) => entry.infra))].reverse()) {
      await this.attempt(name, () => this.stopInfra(name));
    }
  }

  /** One step of stopping: a failure is logged, and the rest is still stopped. */
  async attempt(what: string, step: () => Promise<unknown>): Promise<void> {
    await step().catch((error: unknown) =>
      this.log(`stopping ${what} failed: ${error instanceof Error ? error.message : String(error)}`),
    );
  }

  /** Last step of stopping: the logs are copied if asked, the folder goes if the stack made it, the reaper ends. */
  close(keepLogsIn?: string): void {
    if (keepLogsIn !== undefined) cpSync(path.join(this.dir, 'logs'), keepLogsIn, { recursive: true });
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
    this.reaper?.end();
  }
}
