import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { createPlacementActivities } from '../../src/activities/placement';
import { FailureType, orderFailure } from '../../src/orders/errors';
import { placementFailure } from '../../src/workflows/failures';

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

describe("the caller's answer when placement found the database away", () => {
  it("says the database is unavailable, and nothing of the database's own error", () => {
    const underneath = new Error('connect ECONNREFUSED 10.0.0.5:5432');
    const step = orderFailure(FailureType.DatabaseUnavailable, 'The database is unavailable', undefined, underneath);
    const failed = new ActivityFailure(
      'Activity task failed',
      'placeOrder',
      '1',
      RetryState.MAXIMUM_ATTEMPTS_REACHED,
      undefined,
      step,
    );
    const answer = placementFailure(failed, FailureType.ServiceUnavailable, 'The database is unavailable');
    expect({ type: answer.type, message: answer.message, cause: answer.cause }).toEqual({
      type: FailureType.ServiceUnavailable,
      message: 'The database is unavailable',
      cause: undefined,
    });
  });
});
