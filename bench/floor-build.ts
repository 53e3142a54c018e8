import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { build } from 'esbuild';

/**
 * The floors built the way the service is: when the service runs compiled (`npm run build`, as
 * `npm start` ships it), the floors' processes run compiled JavaScript too, not TypeScript through
 * tsx; and the empty floor's worker loads a prebuilt workflow bundle, as the service's does.
 *
 * Each floor entry point becomes one CommonJS file (esbuild, as dev/scripts/build.ts compiles
 * src/, for Node 24 with source maps) in the run's temporary folder, with the bench's own modules
 * it imports inlined and the packages left to `require`, found through NODE_PATH (the folder has no
 * node_modules of its own): nothing is written into the repository.
 */

/** Node's module search path for the compiled floors: the repository's packages. */
export function floorNodePath(repoRoot: string): string {
  return path.join(repoRoot, 'node_modules');
}

/** Compiles `scripts` (relative to `repoRoot`); returns each one's compiled file, by script. */
export async function compileFloors(
  repoRoot: string,
  outDir: string,
  scripts: readonly string[],
): Promise<Record<string, string>> {
  await build({
    entryPoints: scripts.map((script) => path.join(repoRoot, script)),
    outdir: outDir,
    outbase: repoRoot,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    sourcemap: true,
    logLevel: 'error',
  });
  return Object.fromEntries(scripts.map((script) => [script, path.join(outDir, script.replace(/\.ts$/, '.js'))]));
}

/**
 * The empty floor's workflow bundle, built as the service's is (src/scripts/bundle-workflows.ts):
 * its workflow module preloaded once per workflow thread, no interceptors (tracing is off).
 */
export async function bundleEmptyWorkflow(file: string): Promise<void> {
  const workflowsPath = require.resolve('./floors/empty-workflow');
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    preloadModules: [workflowsPath],
    logger: new DefaultLogger('WARN'),
  });
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, code);
}
