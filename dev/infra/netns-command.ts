/** A user a process runs as instead of root (PostgreSQL refuses root). */
export interface NamespaceRunAs {
  uid: number;
  gid: number;
}

/**
 * `command args` as run inside the network namespace `netns` (`ip netns exec`, which execs the
 * command in place, so the pid spawned is the program's own and signals reach it). A process that
 * must not run as root drops to `runAs` with setpriv after entering, since entering needs root.
 */
export function inNetns(
  netns: string,
  command: string,
  args: readonly string[],
  runAs?: NamespaceRunAs,
): { command: string; args: string[] } {
  const drop = runAs ? ['setpriv', `--reuid=${runAs.uid}`, `--regid=${runAs.gid}`, '--clear-groups'] : [];
  return { command: 'ip', args: ['netns', 'exec', netns, ...drop, command, ...args] };
}
