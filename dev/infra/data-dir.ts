import { dataDirOf, REPO_ROOT } from '../config';

export { REPO_ROOT };

/** Where locally started services keep their state: DATA_DIR, or `.data/` in the repository. */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  return dataDirOf(env);
}
