import { spawn } from 'node:child_process';
import path from 'node:path';
import { tsxCommand } from '../../dev/infra/app-process';

export const REPO_ROOT = path.resolve(__dirname, '../..');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end from the repository root, with the test run's environment; never rejects on a non-zero exit. */
export function runCommand(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/**
 * Runs one of the project's TypeScript scripts (e.g. src/scripts/migrate.ts) with tsx, as
 * runCommand does; an `undefined` in `env` unsets that variable.
 */
export function runScript(
  script: string,
  { args = [], env = {} }: { args?: readonly string[]; env?: NodeJS.ProcessEnv } = {},
): Promise<CommandResult> {
  const { command, args: tsxArgs } = tsxCommand(script);
  return runCommand(command, [...tsxArgs, ...args], env);
}
