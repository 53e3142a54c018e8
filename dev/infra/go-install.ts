import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, open, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { binaryCacheDir, findInstalled, findOnPath, isExecutable } from '../../src/tools/go-binary';
import { isAlive } from './process-alive';

/** A Go program this project runs, and how `go install` builds it when it is nowhere to be found. */
export interface GoBinary {
  /** Our name for the executable: what is looked up on the PATH and kept in the cache folder. */
  name: string;
  /**
   * `module/cmd@version`: every version is pinned (versions.json), so every machine builds the same
   * binary; one found at another version is not used, the pinned one is built instead.
   */
  goPackage: string;
  /**
   * What `go install` names the executable when that is not our name for it (servers called
   * `server`): it is then built into a folder of its own and renamed into the cache.
   */
  builtAs?: string;
  /** Builds that take minutes, announced as such. */
  slowBuild?: boolean;
  /** Folders to look in besides the PATH (Debian installs some servers outside a user's PATH). */
  extraDirs?: string[];
  /**
   * The Go toolchain the module needs when it asks for a newer Go than the machine's: GOTOOLCHAIN
   * for this build only (the go command fetches that toolchain from the module proxy once).
   */
  goToolchain?: string;
}

const GO_DIRS = ['/usr/local/go/bin'];

const PROGRESS_EVERY_MS = 15_000;

/**
 * Returns an absolute path to `name` at the pinned version: from the PATH, else from the cache
 * folder, else built there with `go install`. A binary found at another version (an older build in
 * the cache, a distribution's package on the PATH) is passed over, as Go's build info shows; without
 * Go, whatever is found is used. Concurrent callers (two terminals, jest and a script) build it only once.
 */
export async function ensureGoBinary(binary: GoBinary, log: (line: string) => void): Promise<string> {
  const { name } = binary;
  const go = await findOnPath('go', GO_DIRS);
  const found = await findInstalled(name, binary.extraDirs);
  if (found && (!go || (await isPinnedBuild(go, found, binary.goPackage)))) return found;
  const cacheDir = binaryCacheDir();
  const cached = path.join(cacheDir, name);
  if (go && found !== cached && (await isPinnedBuild(go, cached, binary.goPackage))) return cached;
  if (found) log(`${name} at ${found} is ${await describeBuild(go, found)}, not ${binary.goPackage}`);

  await mkdir(cacheDir, { recursive: true });
  const release = await acquireBuildLock(path.join(cacheDir, `.${name}.build.lock`), name, log);
  try {
    // Whoever held the lock before us may have built it meanwhile.
    if (go && (await isPinnedBuild(go, cached, binary.goPackage))) return cached;
    await goInstall(binary, go, cacheDir, log);
    if (!(await isExecutable(cached))) {
      throw new Error(`go install ${binary.goPackage} finished but ${cached} is missing`);
    }
    return cached;
  } finally {
    await release();
  }
}

/** What `go version -m` reads from a Go binary: the main package and its module's version. */
interface BuildInfo {
  packagePath?: string;
  version?: string;
}

async function buildInfo(go: string, file: string): Promise<BuildInfo | undefined> {
  if (!(await isExecutable(file))) return undefined;
  const output = await new Promise<string>((resolve) => {
    execFile(go, ['version', '-m', file], { timeout: 30_000 }, (error, stdout) => resolve(error ? '' : stdout));
  });
  const field = (key: string): string[] | undefined =>
    output
      .split('\n')
      .map((line) => line.trim().split(/\s+/))
      .find((words) => words[0] === key);
  return { packagePath: field('path')?.[1], version: field('mod')?.[2] };
}

/** True when `file` is a Go binary built from `goPackage` (`module/cmd@version`) at that version. */
async function isPinnedBuild(go: string, file: string, goPackage: string): Promise<boolean> {
  const info = await buildInfo(go, file);
  const [packagePath, version] = goPackage.split('@');
  return info !== undefined && info.packagePath === packagePath && info.version === version;
}

async function describeBuild(go: string | undefined, file: string): Promise<string> {
  const info = go ? await buildInfo(go, file) : undefined;
  if (!info?.packagePath) return 'of no version Go can read';
  return `${info.packagePath}@${info.version ?? 'an unknown version'}`;
}

async function goInstall(
  binary: GoBinary,
  go: string | undefined,
  cacheDir: string,
  log: (line: string) => void,
): Promise<void> {
  const { name, builtAs } = binary;
  if (!go) {
    throw new Error(
      `${name} is not on the PATH nor in ${cacheDir}, and Go is not installed to build it ` +
        `(install Go, or put ${name} on the PATH)`,
    );
  }
  const pkg = binary.goPackage;
  const slow = binary.slowBuild ? ' (this takes several minutes the first time; it is done only once)' : '';
  const toolchain = binary.goToolchain ? ` with GOTOOLCHAIN=${binary.goToolchain}` : '';
  log(`building ${name}: go install ${pkg}${toolchain} into ${cacheDir}${slow}`);
  const started = Date.now();
  const progress = setInterval(() => {
    log(`still building ${name}... ${Math.round((Date.now() - started) / 1000)} s`);
  }, PROGRESS_EVERY_MS);
  const gobin = builtAs ? await mkdtemp(path.join(cacheDir, `.${name}-`)) : cacheDir;
  try {
    const child = spawn(go, ['install', pkg], {
      // GOTOOLCHAIN only for this build, when the module needs a newer Go than the machine's.
      env: { ...process.env, GOBIN: gobin, ...(binary.goToolchain ? { GOTOOLCHAIN: binary.goToolchain } : {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const tail: string[] = [];
    for (const stream of [child.stdout, child.stderr]) {
      createInterface({ input: stream }).on('line', (line) => {
        tail.push(line);
        if (tail.length > 30) tail.shift();
        log(`  ${line}`);
      });
    }
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`go install ${pkg} failed (exit ${code}):\n${tail.join('\n')}`);
    if (builtAs) await rename(path.join(gobin, builtAs), path.join(cacheDir, name));
    log(`built ${name} in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    clearInterval(progress);
    if (builtAs) await rm(gobin, { recursive: true, force: true });
  }
}

/** An exclusive lock file holding the builder's pid; a lock left by a dead process is taken over. */
async function acquireBuildLock(
  lockFile: string,
  name: string,
  log: (line: string) => void,
): Promise<() => Promise<void>> {
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockFile, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return () => unlink(lockFile).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = Number.parseInt(await readFile(lockFile, 'utf8').catch(() => ''), 10);
    if (!Number.isInteger(holder) || !isAlive(holder)) {
      // The pid is written right after creation: give a just-created lock a moment before calling it stale.
      const age = await stat(lockFile).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (Number.isInteger(holder) || age > 2_000) await unlink(lockFile).catch(() => undefined);
    } else if (!announced) {
      log(`waiting for another process (pid ${holder}) that is building ${name}`);
      announced = true;
    }
    await delay(500);
  }
}
