import path from 'node:path';

/** The repository's root, found from this file so scripts work from any working directory. */
export const REPO_ROOT = path.resolve(__dirname, '../..');

/** Where locally started services keep their state: DATA_DIR, or `.data/` in the repository. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DATA_DIR ? path.resolve(env.DATA_DIR) : path.join(REPO_ROOT, '.data');
}
