import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { isAlive } from '../infra/process-alive';
import { spawnWatchdog } from '../infra/reaper';
import { NAME_PREFIX, type BedPlan, type PlannedHost } from './topology';

/**
 * The bed's network: one namespace per host, each with a veth pair to one bridge in the root
 * namespace and its own address, loopback up. Built and removed with `ip`; nothing outside the
 * names of the plan is touched.
 */

const exec = promisify(execFile);

/** Runs a command, failing with its stderr. */
export async function sh(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await exec(command, args, { timeout: 30_000 });
    return stdout;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr?.trim() || (error as Error).message}`);
  }
}

/** A command inside a host's namespace. */
export function inHost(host: PlannedHost, command: string, args: string[]): Promise<string> {
  return sh('ip', ['netns', 'exec', host.netns, command, ...args]);
}

/** The bridge, then each host: namespace, veth pair, address, links up. Undone by `removeNetwork`. */
export async function buildNetwork(plan: BedPlan): Promise<void> {
  await sh('ip', ['link', 'add', plan.bridge, 'type', 'bridge']);
  await sh('ip', ['addr', 'add', `${plan.gateway}/${plan.prefixLength}`, 'dev', plan.bridge]);
  await sh('ip', ['link', 'set', plan.bridge, 'up']);
  for (const host of plan.hosts) {
    await sh('ip', ['netns', 'add', host.netns]);
    await sh('ip', ['link', 'add', host.bridgeLink, 'type', 'veth', 'peer', 'name', host.innerLink]);
    await sh('ip', ['link', 'set', host.innerLink, 'netns', host.netns]);
    await sh('ip', ['link', 'set', host.bridgeLink, 'master', plan.bridge]);
    await sh('ip', ['link', 'set', host.bridgeLink, 'up']);
    await inHost(host, 'ip', ['addr', 'add', `${host.address}/${plan.prefixLength}`, 'dev', host.innerLink]);
    await inHost(host, 'ip', ['link', 'set', host.innerLink, 'up']);
    await inHost(host, 'ip', ['link', 'set', 'lo', 'up']);
  }
}

/**
 * Removes every namespace and link of the plan, and the bridge: each step on its own, so one that
 * fails (already gone) does not keep the rest. Deleting a namespace deletes the veth pair in it.
 */
export async function removeNetwork(plan: BedPlan, log: (line: string) => void): Promise<void> {
  for (const host of plan.hosts) {
    await sh('ip', ['netns', 'del', host.netns]).catch(() => undefined);
    await sh('ip', ['link', 'del', host.bridgeLink]).catch(() => undefined);
  }
  await sh('ip', ['link', 'del', plan.bridge]).catch(() => undefined);
  const left = await leftovers(plan.tag);
  if (left.length > 0) log(`still present after teardown: ${left.join(', ')}`);
}

/** Namespaces and links of the run tagged `tag` that still exist. */
export async function leftovers(tag: string): Promise<string[]> {
  const prefix = `${NAME_PREFIX}${tag}`;
  const namespaces = namespaceNames().filter((name) => name.startsWith(`${prefix}-`));
  const links = (await sh('ip', ['-o', 'link', 'show']))
    .split('\n')
    .map((line) => line.split(':')[1]?.trim().split('@')[0] ?? '')
    .filter((name) => name.startsWith(prefix));
  return [...namespaces, ...links];
}

function namespaceNames(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/**
 * A run's tag carries its runner's pid (hex): a bed whose runner died without tearing down (kill -9)
 * is removed by the next run. Only names of this bed's shape whose runner is gone are touched.
 */
export function tagFor(pid: number): string {
  return pid.toString(16).slice(-6);
}

export async function removeStaleBeds(log: (line: string) => void): Promise<void> {
  const pattern = new RegExp(`^${NAME_PREFIX}([0-9a-f]{1,6})-`);
  const tags = new Set(namespaceNames().flatMap((name) => pattern.exec(name)?.[1] ?? []));
  for (const tag of tags) {
    const pid = Number.parseInt(tag, 16);
    if (pid === process.pid || isAlive(pid)) continue;
    log(`removing the bed of a run that died (pid ${pid})`);
    for (const name of namespaceNames().filter((n) => n.startsWith(`${NAME_PREFIX}${tag}-`)))
      await sh('ip', ['netns', 'del', name]).catch(() => undefined);
    for (const link of await leftovers(tag)) await sh('ip', ['link', 'del', link]).catch(() => undefined);
  }
}

/**
 * A detached watchdog that removes the bed's namespaces, links and bridge if this process dies
 * without tearing down (kill -9, a crash): it waits for its stdin, a pipe from us, to close. The
 * processes' reaper (dev/infra/reaper.ts) ends what ran inside them the same way.
 */
export function startNetworkReaper(plan: BedPlan): { end(): void } {
  const commands = [
    ...plan.hosts.flatMap((host) => [`ip netns del ${host.netns}`, `ip link del ${host.bridgeLink}`]),
    `ip link del ${plan.bridge}`,
  ].map((command) => `${command} 2>/dev/null`);
  const child = spawnWatchdog('sh', ['-c', `cat >/dev/null; ${commands.join('; ')}; true`]);
  return { end: () => child.stdin.end() };
}
