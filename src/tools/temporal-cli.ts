import path from 'node:path';
import { binaryCacheDir, findInstalled, isExecutable } from './go-binary';

/** The Temporal CLI's executable, which `npm run tctl` runs (dev/infra/binaries.ts pins its version). */
export const TEMPORAL_CLI_NAME = 'temporal';

/** How a development checkout installs it into the cache folder. */
export const TEMPORAL_CLI_INSTALL = 'npx tsx dev/scripts/tools.ts temporal';

/**
 * The Temporal CLI to run: the file TEMPORAL_CLI names, else `temporal` on the PATH, else the one
 * the development tooling built into the cache folder. Never built here: when it is missing, the
 * error says how to install it.
 */
export async function findTemporalCli(): Promise<string> {
  const configured = process.env.TEMPORAL_CLI;
  if (configured) {
    if (await isExecutable(configured)) return path.resolve(configured);
    throw new Error(`TEMPORAL_CLI is ${configured}, which is not an executable file`);
  }
  const found = await findInstalled(TEMPORAL_CLI_NAME);
  if (found) return found;
  throw new Error(
    `the Temporal CLI (${TEMPORAL_CLI_NAME}) is not on the PATH nor in ${binaryCacheDir()}: ` +
      `install it with \`${TEMPORAL_CLI_INSTALL}\`, or set TEMPORAL_CLI to its path`,
  );
}
