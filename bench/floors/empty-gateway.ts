import { randomUUID } from 'node:crypto';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { OrderStatusAttribute } from '../../src/orders/workflow-api';
import { decodeJson, PeerError, serveNest } from '../wire';
import { emptyPaymentSucceededSignal, emptyPlaceOrderUpdate, type EmptyPayment } from './empty-messages';
import type { EmptyOrderWorkflow } from './empty-workflow';
import { connectFloorNats, FLOOR_PAYMENT_PARALLELISM, FLOOR_SETTINGS, logLine, runFloor } from './floor-process';
import { consumeStream } from './stream-consumer';
import { EMPTY_TASK_QUEUE, EMPTY_WORKFLOW_TYPE, emptyWorkflowId, FLOOR_SUBJECTS } from './subjects';

/**
 * Floor 2's NATS side, a process of its own as the service's gateway is: request handlers that
 * place an EmptyOrderWorkflow with Update-with-Start (on floor 2's subject without search
 * attributes, on `empty-sa`'s with the service's), and a durable JetStream consumer that turns
 * payment events into the workflow's signal, acknowledging once Temporal has accepted it.
 */
const NAME = 'empty-gateway';
const { create: CREATE_SUBJECT, payment: PAYMENT_SUBJECT, stream: STREAM } = FLOOR_SUBJECTS.empty;
const LOCAL_ACTIVITIES = process.env.BENCH_EMPTY_ACTIVITIES === 'local';

runFloor(NAME, async () => {
  const nats = await connectFloorNats(NAME);
  const connection = await Connection.connect({ address: FLOOR_SETTINGS.temporalAddress });
  const client = new Client({ connection });
  const onError = (error: unknown): void =>
    logLine(NAME, 'error', 'failed', { err: error instanceof Error ? error.message : String(error) });

  const place = async (searchAttributes: boolean): Promise<unknown> => {
    const orderId = randomUUID();
    try {
      return await client.withDeadline(Date.now() + FLOOR_SETTINGS.createTimeoutMs, () =>
        client.workflow.executeUpdateWithStart(emptyPlaceOrderUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<typeof EmptyOrderWorkflow>(EMPTY_WORKFLOW_TYPE, {
            workflowId: emptyWorkflowId(orderId),
            taskQueue: EMPTY_TASK_QUEUE,
            args: [{ orderId, localActivities: LOCAL_ACTIVITIES, searchAttributes }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            // As the service starts an order: found by its status from the start.
            ...(searchAttributes ? { typedSearchAttributes: [{ key: OrderStatusAttribute, value: 'PENDING' }] } : {}),
          }),
        }),
      );
    } catch (error) {
      throw new PeerError(503, `placing ${orderId} failed: ${(error as Error).message}`);
    }
  };

  const subscriptions = [
    serveNest(nats, CREATE_SUBJECT, 'bench-empty', () => place(false), onError),
    serveNest(nats, FLOOR_SUBJECTS['empty-sa'].create, 'bench-empty', () => place(true), onError),
  ];
  const consumer = await consumeStream(
    nats,
    { stream: STREAM, subject: PAYMENT_SUBJECT, durable: 'bench-empty-paid', parallel: FLOOR_PAYMENT_PARALLELISM },
    async (msg) => {
      const { data } = decodeJson(msg.data) as { data: EmptyPayment };
      await client.workflow.getHandle(emptyWorkflowId(data.orderId)).signal(emptyPaymentSucceededSignal, data);
    },
    onError,
  );

  return async () => {
    await Promise.all(subscriptions.map((subscription) => subscription.drain()));
    await consumer.stop();
    await nats.drain();
    await connection.close();
  };
});
