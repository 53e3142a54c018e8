import { signalGroup, startAppProcess, type AppProcess } from './app-process';
import { REPO_ROOT } from './data-dir';
import { describeExit, tailOf } from './managed-process';
import type { AppSpec } from './stack';
import type { StackContext } from './stack-context';

interface RunningApp {
  processes: AppProcess[];
  expectedExit: boolean;
}

/** The stack's app processes: started, stopped, killed and healed by app name, and their unexpected exits. */
export class StackApps {
  private readonly specs = new Map<string, AppSpec>();
  private readonly running = new Map<string, RunningApp>();
  private readonly exits: string[] = [];
  /** The apps' environment, unless their spec names its own. */
  private env: NodeJS.ProcessEnv = {};

  constructor(private readonly ctx: StackContext) {}

  /** Starts every app, side by side, and logs how long they took to be ready. */
  async startAll(wanted: AppSpec[], env: NodeJS.ProcessEnv): Promise<void> {
    this.env = env;
    for (const spec of wanted) this.specs.set(spec.name, spec);
    if (wanted.length === 0) return;
    const began = Date.now();
    await Promise.all(wanted.map((spec) => this.start(spec.name)));
    this.ctx.checkAborted();
    const described = wanted.map((spec) => ((spec.replicas ?? 1) > 1 ? `${spec.name} ×${spec.replicas}` : spec.name));
    const count = wanted.reduce((sum, spec) => sum + (spec.replicas ?? 1), 0);
    this.ctx.log(`${count} processes ready in ${((Date.now() - began) / 1000).toFixed(1)} s: ${described.join(', ')}`);
  }

  async start(name: string): Promise<void> {
    const { ctx } = this;
    const spec = this.specs.get(name);
    if (!spec) throw new Error(`no app named ${name}; apps: ${[...this.specs.keys()].join(', ')}`);
    if (this.running.has(name)) throw new Error(`${name} is already running`);
    const replicas = spec.replicas ?? 1;
    const names = replicas === 1 ? [name] : Array.from({ length: replicas }, (_, n) => `${name}-${n + 1}`);
    const prefixWidth = Math.max(...[...this.specs.keys()].map((key) => key.length));
    const app: RunningApp = { processes: [], expectedExit: false };
    this.running.set(name, app);
    for (const processName of names) {
      const child = startAppProcess({
        name: processName,
        script: spec.script,
        runtime: ctx.options.appRuntime ?? 'tsx',
        compiledScript: spec.compiledScript,
        nodeArgs: spec.nodeArgs?.(processName),
        cwd: REPO_ROOT,
        env: spec.env ?? this.env,
        prefixWidth,
        readyTimeoutMs: ctx.options.appReadyTimeoutMs,
        logFile: ctx.options.appOutput === 'files' ? ctx.logFile(processName) : undefined,
      });
      app.processes.push(child);
      ctx.watch(name, child.pid);
      void child.exited.then((status) => {
        ctx.forget(child.pid);
        if (app.expectedExit || ctx.stopping) return;
        const message = `${processName} (pid ${child.pid}) exited on its own: ${describeExit(status)}`;
        this.exits.push(message);
        ctx.options.onUnexpectedExit?.(message);
      });
    }
    await Promise.all(app.processes.map((child) => child.ready));
  }

  /** SIGTERM, as an orchestrator stops a process. */
  async stop(name: string): Promise<void> {
    const app = this.running.get(name);
    if (!app) return;
    app.expectedExit = true;
    await Promise.all(app.processes.map((child) => child.stop()));
    for (const child of app.processes) this.ctx.forget(child.pid);
    this.running.delete(name);
    this.ctx.options.onStopped?.(name);
  }

  /** `kill -9` of the app's whole process group. */
  async kill(name: string): Promise<void> {
    const app = this.running.get(name);
    if (!app) throw new Error(`${name} is not running`);
    app.expectedExit = true;
    for (const child of app.processes) signalGroup(child.pid, 'SIGKILL');
    await Promise.all(app.processes.map((child) => child.exited));
    this.running.delete(name);
    this.ctx.options.onStopped?.(name);
  }

  async restart(name: string): Promise<void> {
    await this.stop(name);
    await this.start(name);
  }

  isRunning(name: string): boolean {
    return this.running.get(name)?.processes.every((child) => child.exitStatus() === undefined) ?? false;
  }

  /** Apps that exited without being told to, since the start or the last `heal`. */
  unexpectedExits(): string[] {
    return [...this.exits];
  }

  /** Starts every app not running; returns their names, and forgets the exits seen until now. */
  async heal(): Promise<string[]> {
    const restarted: string[] = [];
    for (const name of this.specs.keys()) {
      if (this.isRunning(name)) continue;
      this.running.delete(name);
      await this.start(name);
      restarted.push(name);
    }
    this.exits.length = 0;
    return restarted;
  }

  /** Callers first: in reverse start order. */
  async stopAll(): Promise<void> {
    for (const name of [...this.running.keys()].reverse()) await this.ctx.attempt(name, () => this.stop(name));
  }

  /** After a failed start: the end of the log of each process that exited. */
  logTailsOfExited(): void {
    for (const app of this.running.values()) {
      for (const child of app.processes) {
        if (child.exitStatus() !== undefined && child.logFile)
          this.ctx.log(`${child.name} log tail:\n${tailOf(child.logFile, 15)}`);
      }
    }
  }
}
