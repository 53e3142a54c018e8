import { randomUUID } from 'node:crypto';
import { msToTs } from '@temporalio/common/lib/time';
import { NativeConnection } from '@temporalio/worker';
import { missingSearchAttributes, missingSearchAttributesError } from '../src/temporal/search-attributes';
import { eventually } from './support/eventually';

/** The worker's start-up check against the test run's real dev server. */
describe('search attributes every order sets', () => {
  let connection: NativeConnection;

  beforeAll(async () => {
    connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS as string });
  });

  afterAll(async () => {
    await connection.close();
  });

  it('are all registered in the namespace the tests run orders in', async () => {
    await expect(missingSearchAttributes(connection, 'default')).resolves.toEqual([]);
  });

  it('are named, with the commands that register them, for a namespace nobody prepared', async () => {
    const namespace = `bare-${randomUUID().slice(0, 8)}`;
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs('1 day'),
    });
    // A new namespace reaches the frontend's namespace cache on its own schedule.
    const missing = await eventually(async () => {
      const answer = await missingSearchAttributes(connection, namespace);
      if (answer === null) throw new Error(`namespace ${namespace} not visible yet`);
      return answer;
    });
    expect(missing.map((key) => key.name)).toEqual(['OrderStatus', 'OrderTotal', 'PaymentId']);
    expect(missingSearchAttributesError(namespace, missing).message).toContain(
      `temporal operator search-attribute create --namespace ${namespace} --name PaymentId --type Keyword`,
    );
  });

  it('cannot be checked in a namespace that does not exist, which the caller is told', async () => {
    await expect(missingSearchAttributes(connection, `missing-${randomUUID().slice(0, 8)}`)).resolves.toBeNull();
  });
});
