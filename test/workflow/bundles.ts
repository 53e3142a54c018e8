import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, type WorkflowBundlePath } from '@temporalio/worker';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../../src/worker/workflow-code';

/**
 * Prebuilt workflow bundles for the workflow tests: each entry point is bundled once and kept in a
 * file named by the hash of everything it can contain (the code under src/ and test/fixtures/, the
 * locked dependencies, the bundler options), so the stub workers and the replay test
 * of every test file, and of later runs until that code changes, load the same bundle instead of
 * each bundling it.
 */

const ROOT = path.resolve(__dirname, '../..');
// In the checkout, not a shared temporary folder another user could write a bundle into.
const CACHE_DIR = path.join(ROOT, 'node_modules', '.cache', 'orders-service-workflow-bundles');
/** What a bundle can be built from: the entry points below import only from these. */
const SOURCE_DIRS = [path.join(ROOT, 'src'), path.join(ROOT, 'test', 'fixtures')];

/** The real workflow code, as the worker bundles it. */
export const CURRENT_WORKFLOWS = WORKFLOWS_PATH;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.[cm]?[jt]s$/.test(file))
    .map((file) => path.join(dir, file))
    .sort();
}

function bundleKey(entry: string, preloadModules: string[]): string {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify({ entry: path.relative(ROOT, entry), preload: preloadModules.map((m) => path.relative(ROOT, m)) }),
  );
  hash.update(readFileSync(path.join(ROOT, 'package-lock.json')));
  for (const file of SOURCE_DIRS.flatMap(sourceFiles)) {
    hash.update(path.relative(ROOT, file));
    hash.update(readFileSync(file));
  }
  return hash.digest('hex').slice(0, 24);
}

async function buildBundle(entry: string): Promise<WorkflowBundlePath> {
  // The real code is bundled as the worker does (its modules preloaded); a fixture likewise.
  const preloadModules = entry === WORKFLOWS_PATH ? WORKFLOW_BUNDLER_OPTIONS.preloadModules : [entry];
  const codePath = path.join(
    CACHE_DIR,
    `${path.relative(ROOT, entry).replace(/\W+/g, '-')}-${bundleKey(entry, preloadModules)}.js`,
  );
  if (existsSync(codePath)) return { codePath };
  mkdirSync(CACHE_DIR, { recursive: true });
  // One test file bundles; the others (in parallel jest workers) wait for its file.
  const lock = `${codePath}.lock`;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (existsSync(codePath)) return { codePath };
    // A lock left by a run that was killed while bundling is taken over.
    const lockedAt = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (Date.now() - lockedAt > 120_000) rmSync(lock, { recursive: true, force: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    if (existsSync(codePath)) return { codePath };
    const { code } = await bundleWorkflowCode({
      workflowsPath: entry,
      preloadModules,
      logger: new DefaultLogger('WARN'),
    });
    // Written aside and renamed: a reader never finds half a file.
    const partial = `${codePath}.${process.pid}.partial`;
    writeFileSync(partial, code);
    renameSync(partial, codePath);
    pruneOlderBundles(codePath);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return { codePath };
}

/** Bundles of the same entry point for code since changed, an hour old or more: no run reads them any more. */
function pruneOlderBundles(codePath: string): void {
  const prefix = path.basename(codePath).replace(/[0-9a-f]+\.js$/, '');
  for (const file of readdirSync(CACHE_DIR)) {
    const other = path.join(CACHE_DIR, file);
    if (!file.startsWith(prefix) || other === codePath) continue;
    if (Date.now() - (statSync(other, { throwIfNoEntry: false })?.mtimeMs ?? Date.now()) > 3_600_000) {
      rmSync(other, { recursive: true, force: true });
    }
  }
}

const built = new Map<string, Promise<WorkflowBundlePath>>();

/** The bundle of the workflow code at `entry` (a workflows module: src/workflows or a fixture). */
export function workflowBundle(entry: string = CURRENT_WORKFLOWS): Promise<WorkflowBundlePath> {
  const resolved = require.resolve(entry);
  let bundle = built.get(resolved);
  if (bundle === undefined) {
    bundle = buildBundle(resolved);
    built.set(resolved, bundle);
  }
  return bundle;
}
