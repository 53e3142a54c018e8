import { inHost } from './network';
import type { BedPlan, PlannedHost } from './topology';

/**
 * Network faults on the bed, all with iptables INPUT rules inside the hosts' own namespaces, so a
 * dropped packet vanishes silently (no reset, no ICMP, no error to the sender, as with a pulled
 * cable) and every peer waits for its own timeouts. A rule on OUTPUT would instead fail the sender's
 * connect() at once (EPERM): not what a network does. This kernel has no netem
 * (CONFIG_NET_SCH_NETEM is not set): a degraded link queues the host's outgoing packets to
 * delay-queue.py (NFQUEUE), which holds each for the delay or drops it, as netem on its interface would.
 */

/** Drops what each host of `a` receives from `b`, and the other way round. */
async function drop(a: readonly PlannedHost[], b: readonly PlannedHost[]): Promise<void> {
  for (const [side, other] of [
    [a, b],
    [b, a],
  ] as const) {
    for (const host of side) {
      for (const peer of other) await inHost(host, 'iptables', ['-I', 'INPUT', '-s', peer.address, '-j', 'DROP']);
    }
  }
}

const others = (plan: BedPlan, host: PlannedHost): PlannedHost[] => plan.hosts.filter((h) => h.name !== host.name);

/** Cuts the host off from every other host (and they from it). */
export function partition(plan: BedPlan, host: PlannedHost): Promise<void> {
  return drop([host], others(plan, host));
}

/** The NFQUEUE the degraded host's outgoing packets go through (delay-queue.py listens on it). */
export const DELAY_QUEUE = 26;

/** Sends what the host sends over its link through the delay queue, which must be listening already. */
export async function queueOutgoing(host: PlannedHost): Promise<void> {
  await inHost(host, 'iptables', [
    '-I',
    'OUTPUT',
    '-o',
    host.innerLink,
    '-j',
    'NFQUEUE',
    '--queue-num',
    String(DELAY_QUEUE),
  ]);
}

/** Each host of `a` stops hearing every host of `b`, and the other way round; other hosts reach both sides. */
export function split(a: readonly PlannedHost[], b: readonly PlannedHost[]): Promise<void> {
  return drop(a, b);
}

/** Removes every rule of ours: the bed's namespaces hold no others. */
export async function healAll(plan: BedPlan): Promise<void> {
  for (const host of plan.hosts) {
    for (const chain of ['INPUT', 'OUTPUT']) await inHost(host, 'iptables', ['-F', chain]).catch(() => undefined);
  }
}
