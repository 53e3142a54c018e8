import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Where the Go programs this project runs are found: on the PATH, or in the cache folder the
 * development tooling builds them into (dev/infra/go-install.ts). Nothing here builds anything:
 * code that ships finds its tools or says how to get them.
 */

/** Outside the repo, so a fresh clone or a second checkout reuses what was built once. */
export function binaryCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const cacheHome = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cacheHome, 'orders-service', 'bin');
}

/** Absolute path of an executable `name` on the PATH (plus `extraDirs`), if any. */
export async function findOnPath(name: string, extraDirs: string[] = []): Promise<string | undefined> {
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean).concat(extraDirs);
  for (const dir of dirs) {
    const candidate = path.resolve(dir, name);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** Absolute path of `name` on the PATH (plus `extraDirs`), else in the cache folder, if either has it. */
export async function findInstalled(name: string, extraDirs: string[] = []): Promise<string | undefined> {
  const found = await findOnPath(name, extraDirs);
  if (found) return found;
  const cached = path.join(binaryCacheDir(), name);
  return (await isExecutable(cached)) ? cached : undefined;
}

export async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
