import { ApplicationFailure } from '@temporalio/common';
import { createPlacementActivities } from '../../src/activities/placement';
import { FailureType } from '../../src/orders/errors';

type Deps = Parameters<typeof createPlacementActivities>[0];

describe('placement while the database is away', () => {
  it("fails as DatabaseUnavailable, which the workflow retries, keeping the database's own error as the cause", async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const placement = createPlacementActivities({
      products: { validateProducts: async () => [{ productId: 1, quantity: 1, price: 5, name: 'Kettle' }] },
      persistence: {
        persistOrder: async () => {
          throw refused;
        },
      },
      payments: {},
      orders: {},
    } as unknown as Deps);

    const failed = await placement
      .placeOrder({ orderId: 'o-1', currency: 'usd', items: [{ productId: 1, quantity: 1 }] })
      .catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(ApplicationFailure);
    expect(failed).toMatchObject({
      type: FailureType.DatabaseUnavailable,
      message: 'The database is unavailable',
      nonRetryable: false,
      cause: refused,
    });
  });
});
