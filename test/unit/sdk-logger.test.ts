import { ApplicationFailure } from '@temporalio/common';
import { createLogger } from '../../src/logger';
import { temporalLoggerFor } from '../../src/temporal/sdk-logger';

describe("the Temporal SDK's log lines", () => {
  it("write a failure the SDK names `error` with its message, its cause's and its stack, under the order's id", () => {
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger('worker', 'info', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const underneath = new Error('connect ECONNREFUSED 10.0.0.5:5432');
    const failure = ApplicationFailure.create({
      type: 'DatabaseUnavailable',
      message: 'The database is unavailable',
      cause: underneath,
    });
    temporalLoggerFor(logger).warn('Activity failed', { error: failure, workflowId: 'order-o-1', durationMs: 3 });
    expect(lines).toEqual([
      expect.objectContaining({
        msg: 'Activity failed',
        orderId: 'o-1',
        durationMs: 3,
        err: expect.objectContaining({
          type: 'ApplicationFailure',
          message: 'The database is unavailable: connect ECONNREFUSED 10.0.0.5:5432',
          stack: expect.stringContaining('caused by: Error: connect ECONNREFUSED 10.0.0.5:5432'),
        }),
      }),
    ]);
    expect(lines[0]).not.toHaveProperty('error');
  });
});
