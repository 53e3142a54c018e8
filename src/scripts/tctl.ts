import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { loadConfigOrExit } from '../config';
import { TCTL_USAGE, TctlUsageError, translateTctl, type TctlPlan } from '../cli/tctl-translate';
import { findTemporalCli } from '../tools/temporal-cli';

/**
 * `npm run tctl -- <tctl arguments>`: tctl's syntax for the runbook tasks (query, list, count,
 * describe, show, signal), run with the Temporal CLI. Its output and exit code pass through;
 * anything tctl-specific this does not translate is refused with exit code 2. The CLI itself is
 * found, never built here (src/tools/temporal-cli.ts says how to install it when it is missing).
 */

async function main(): Promise<number> {
  const config = loadConfigOrExit('tool');
  let plan: TctlPlan;
  try {
    plan = translateTctl(process.argv.slice(2), config.temporal);
  } catch (error) {
    if (!(error instanceof TctlUsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  if (plan.kind === 'help') {
    process.stdout.write(`${TCTL_USAGE}\n`);
    return 0;
  }
  const binary = await findTemporalCli();
  const child = spawn(binary, plan.args, { stdio: 'inherit', env: { ...process.env, ...plan.env } });
  return new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal])));
  });
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`tctl: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
