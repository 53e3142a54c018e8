import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';

/**
 * Sees orders become PAID with one query for all outstanding ids every `intervalMs`, not a query per
 * order. An order is PAID at the start of the first poll that finds it so: the resolution is one
 * poll cycle (the pause plus the query), reported as `meanCycleMs`.
 */
export class PaidPoller {
  private readonly client: pg.Client;
  private readonly waiting = new Map<string, { deadline: number; resolve: (paidAt: number | null) => void }>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private cycles = 0;
  private cycleMs = 0;
  private failures = 0;
  /** The PostgreSQL backend that answers this poller's queries: its CPU is the bench's, not the system's. */
  backendPid: number | null = null;

  constructor(
    databaseUrl: string,
    private readonly intervalMs = 2,
  ) {
    this.client = new pg.Client({ connectionString: databaseUrl });
    this.client.on('error', () => undefined);
  }

  async start(): Promise<void> {
    await this.client.connect();
    const backend = await this.client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    this.backendPid = backend.rows[0]?.pid ?? null;
    // Planned once, run thousands of times.
    await this.client.query({
      name: 'paid',
      text: "SELECT id FROM orders WHERE id = ANY($1::uuid[]) AND status = 'PAID'",
      values: [[]],
    });
    this.running = true;
    this.loop = this.run();
  }

  /** Resolves with the moment (performance.now()) the order was seen PAID, or null after `timeoutMs`. */
  waitPaid(orderId: string, timeoutMs: number): Promise<number | null> {
    return new Promise((resolve) => {
      this.waiting.set(orderId, { deadline: performance.now() + timeoutMs, resolve });
      this.wake?.();
    });
  }

  stats(): { polls: number; meanCycleMs: number | null; failedPolls: number; intervalMs: number } {
    return {
      polls: this.cycles,
      meanCycleMs: this.cycles === 0 ? null : Math.round((this.cycleMs / this.cycles) * 100) / 100,
      failedPolls: this.failures,
      intervalMs: this.intervalMs,
    };
  }

  resetStats(): void {
    this.cycles = 0;
    this.cycleMs = 0;
    this.failures = 0;
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
    for (const waiter of this.waiting.values()) waiter.resolve(null);
    this.waiting.clear();
    await this.client.end().catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (this.running) {
      if (this.waiting.size === 0) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        this.wake = undefined;
        continue;
      }
      const started = performance.now();
      try {
        const result = await this.client.query<{ id: string }>({
          name: 'paid',
          text: "SELECT id FROM orders WHERE id = ANY($1::uuid[]) AND status = 'PAID'",
          values: [[...this.waiting.keys()]],
        });
        for (const { id } of result.rows) {
          this.waiting.get(id)?.resolve(started);
          this.waiting.delete(id);
        }
      } catch {
        this.failures += 1;
      }
      const now = performance.now();
      for (const [id, waiter] of this.waiting) {
        if (now >= waiter.deadline) {
          waiter.resolve(null);
          this.waiting.delete(id);
        }
      }
      await delay(this.intervalMs);
      this.cycles += 1;
      this.cycleMs += performance.now() - started;
    }
  }
}
