import { DELAY_QUEUE, healAll, partition, queueOutgoing, split } from './faults';
import type { BedProcesses } from './processes';
import { hostNamed, hostsOfKind, type BedPlan, type PlannedHost } from './topology';

/**
 * The faults of issue 26, one at a time under steady load: each injects its fault, holds it for
 * `faultSeconds`, then heals it. The runner measures before, during and after, then audits.
 */

export interface BedControl {
  plan: BedPlan;
  processes: BedProcesses;
  /** Payments arrive twice (the load host's control file). */
  setTwice(on: boolean): void;
  /** The host whose NATS server leads the PAYMENTS stream now. */
  streamLeader(): Promise<string>;
  log(line: string): void;
}

export interface Scenario {
  name: string;
  /** Short enough for `.ci/run`. */
  ci: boolean;
  faultSeconds: number;
  inject(bed: BedControl): Promise<void>;
  heal(bed: BedControl): Promise<void>;
}

const host = (bed: BedControl, name: string): PlannedHost => hostNamed(bed.plan, name);

/** A 30 s partition cutting one host off. */
function partitionOf(name: string, ci = false): Scenario {
  return {
    name: `partition ${name} 30 s`,
    ci,
    faultSeconds: 30,
    inject: (bed) => partition(bed.plan, host(bed, name)),
    heal: (bed) => healAll(bed.plan),
  };
}

/**
 * 200 ms of latency and 5 % loss on what one host sends over its link, for 60 s: netem's
 * `delay 200ms loss 5%` on its interface, done with an NFQUEUE (this kernel has no netem).
 */
function slowLinkOf(name: string): Scenario {
  return {
    name: `${name} link 200 ms + 5 % loss 60 s`,
    ci: false,
    faultSeconds: 60,
    inject: async (bed) => {
      await bed.processes.startDelayQueue(host(bed, name), DELAY_QUEUE, 200, 5);
      await queueOutgoing(host(bed, name));
    },
    heal: async (bed) => {
      await healAll(bed.plan);
      await bed.processes.stopDelayQueues();
    },
  };
}

export function scenarios(): Scenario[] {
  let leader = '';
  return [
    partitionOf('gateway-1', true),
    partitionOf('worker-1'),
    partitionOf('nats-2'),
    partitionOf('history-1'),
    partitionOf('frontend'),
    partitionOf('postgres'),
    {
      name: 'nats split 2/1 30 s',
      ci: false,
      faultSeconds: 30,
      inject: async (bed) => {
        const nats = hostsOfKind(bed.plan, 'nats');
        await split(nats.slice(0, 2), nats.slice(2));
      },
      heal: (bed) => healAll(bed.plan),
    },
    {
      name: 'stream leader host killed 30 s',
      ci: true,
      faultSeconds: 30,
      inject: async (bed) => {
        leader = await bed.streamLeader();
        bed.log(`PAYMENTS stream leader: ${leader}; killing its host`);
        await bed.processes.killHost(leader);
      },
      heal: async (bed) => {
        await bed.processes.startNats(host(bed, leader));
      },
    },
    slowLinkOf('worker-1'),
    slowLinkOf('nats-3'),
    {
      name: 'worker-1 host killed, payments twice',
      ci: true,
      faultSeconds: 20,
      inject: async (bed) => {
        bed.setTwice(true);
        await bed.processes.killHost('worker-1');
      },
      heal: async (bed) => {
        await bed.processes.startApp('worker-1');
        // Twice until the after-window ends: the runner turns it off before the next scenario.
      },
    },
  ];
}
