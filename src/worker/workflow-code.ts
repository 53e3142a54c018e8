import type { BundleOptions } from '@temporalio/worker';

/** The workflow code's entry point, bundled at start unless a prebuilt bundle is configured. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * How the workflow code is bundled, for the worker, a prebuilt bundle and the tests alike.
 *
 * The SDK runs every cached order in one reused V8 context, but loads each module it cannot share
 * once per order: without preloading, all of ours and part of `@temporalio/workflow`, 22 modules,
 * about 33 KB of heap and 0.8 ms of CPU for every order it creates or replays. Preloaded, they are
 * loaded once, before any order, and shared. That is safe because these modules keep no state of
 * their own (the linter forbids module-level `let` in them): an order's state lives in the objects
 * its workflow function creates.
 */
export const WORKFLOW_BUNDLER_OPTIONS = {
  preloadModules: [WORKFLOWS_PATH],
} satisfies Pick<BundleOptions, 'preloadModules'>;
