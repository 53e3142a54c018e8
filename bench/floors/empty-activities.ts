import type pg from 'pg';

/** The empty floor's activities: three that return at once, and one that records PAID in its table. */
export function createEmptyActivities(pool: pg.Pool) {
  return {
    async first(_orderId: string): Promise<void> {},
    async second(_orderId: string): Promise<void> {},
    async third(_orderId: string): Promise<void> {},
    async markPaid(orderId: string): Promise<void> {
      await pool.query(
        `INSERT INTO orders (id, status) VALUES ($1, 'PAID') ON CONFLICT (id) DO UPDATE SET status = 'PAID', updated_at = now()`,
        [orderId],
      );
    },
  };
}

export type EmptyActivities = ReturnType<typeof createEmptyActivities>;
