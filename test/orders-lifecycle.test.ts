import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { sql } from 'slonik';
import { z } from 'zod';
import { REFUND_REQUESTED_SUBJECT, REFUNDED_SUBJECT } from '../src/nats/subjects';
import { orderWorkflowId, paymentSucceededSignal, type PlacedOrder } from '../src/orders/workflow-api';
import { signPayment } from '../src/security/payment-signature';
import type { Order, OrderWithItems } from '../src/orders/types';
import { checkoutSessionEvent, postWebhook, signEvent, webhookUrl } from '../src/payments/test-events';
import { eventually } from './support/eventually';
import { paymentEvent } from './support/orders-client';
import { startTestSystem, type TestSystem } from './support/system';

const run = promisify(execFile);

interface Page {
  data: Order[];
  meta: { total: number; page: number; lastPage: number };
}

let system: TestSystem;
let keyboard: { id: number; price: number };
let mouse: { id: number; price: number };

beforeAll(async () => {
  system = await startTestSystem();
  keyboard = await system.nest.send('products.create', { name: 'Keyboard', price: 49.99 });
  mouse = await system.nest.send('products.create', { name: 'Mouse', price: 19.9 });
});

afterAll(async () => {
  await system?.stop();
});

describe('orders.create', () => {
  it('places a PENDING order priced by the products service, with a checkout session', async () => {
    const { order, paymentSession } = await system.client.place([
      { productId: keyboard.id, quantity: 2, price: 0.01 },
      { productId: mouse.id, quantity: 1 },
      { productId: keyboard.id, quantity: 1 },
    ]);

    expect(order).toMatchObject({
      status: 'PENDING',
      paid: false,
      paidAt: null,
      stripeChargeId: null,
      receiptUrl: null,
      currency: 'usd',
      totalItems: 4,
      totalAmount: 169.87, // 3 x 49.99 + 19.90, computed in cents; the caller's price is ignored
    });
    expect(order.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(order.OrderItems).toEqual([
      { productId: keyboard.id, name: 'Keyboard', price: 49.99, quantity: 3 },
      { productId: mouse.id, name: 'Mouse', price: 19.9, quantity: 1 },
    ]);
    expect(paymentSession.url).toMatch(/^https?:\/\//);
    expect(paymentSession.successUrl ?? paymentSession.succesUrl).toContain('/payments/success');
    expect(paymentSession.cancelUrl).toContain('/payments/cancel');

    expect(await system.orders.findOrder(order.id)).toEqual(order);
  });

  it('answers the legacy createOrder subject the same way', async () => {
    const { order } = await system.nest.send<PlacedOrder>('createOrder', {
      items: [{ productId: mouse.id, quantity: 1 }],
    });
    expect(order).toMatchObject({ status: 'PENDING', totalAmount: 19.9, totalItems: 1 });
  });

  it('returns the same order for the same idempotencyKey, also for concurrent copies', async () => {
    const idempotencyKey = `checkout-${randomUUID()}`;
    const items = [{ productId: keyboard.id, quantity: 1 }];
    const copies = await Promise.all(Array.from({ length: 5 }, () => system.client.place(items, { idempotencyKey })));
    const again = await system.client.place(items, { idempotencyKey });

    const ids = new Set([...copies, again].map((placed) => placed.order.id));
    expect(ids.size).toBe(1);
    expect(again.paymentSession).toEqual(copies[0]?.paymentSession);
    // Exactly one order row exists for the key, however many copies of the request raced.
    const [id] = ids;
    const rows = await system.pool.oneFirst(
      sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM orders WHERE id = ${id as string}`,
    );
    expect(rows).toBe(1);
  });

  it('refuses unknown products with a 400 naming them, and stores nothing', async () => {
    const before = await system.nest.send<Page>('orders.find.all', {});
    const error = await system.nest.sendExpectingError('orders.create', {
      items: [
        { productId: keyboard.id, quantity: 1 },
        { productId: 999_999, quantity: 1 },
        { productId: 'no-such-sku', quantity: 1 },
      ],
    });
    expect(error.status).toBe(400);
    expect(error.message).toContain('999999');
    expect(error.message).toContain('no-such-sku');
    const after = await system.nest.send<Page>('orders.find.all', {});
    expect(after.meta.total).toBe(before.meta.total);
  });

  it('refuses bad payloads with one line per problem, naming the field', async () => {
    const error = await system.nest.sendExpectingError('orders.create', {
      items: [{ productId: keyboard.id, quantity: 0 }, { quantity: 2 }],
      coupon: 'FREE',
    });
    expect(error.status).toBe(400);
    expect(error.message).toEqual(
      expect.arrayContaining([
        'items.0.quantity must be positive',
        'items.1.productId is required',
        'property coupon should not exist',
      ]),
    );
    expect((await system.nest.sendExpectingError('orders.create', { items: 'all of them' })).message).toEqual([
      'items must be an array',
    ]);
  });
});

describe('whatever it is sent', () => {
  it('answers garbage with a 400 and keeps serving', async () => {
    const bodies = [
      Buffer.from('{"pattern": "orders.create", "data": '),
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.alloc(70 * 1024, 0x20),
    ];
    const answers = await Promise.all(
      bodies.map(async (body) =>
        JSON.parse(Buffer.from((await system.nats.request('orders.create', body, { timeout: 5_000 })).data).toString()),
      ),
    );
    expect(answers.map((answer) => answer.err)).toEqual([
      { status: 400, message: 'Message body is not valid JSON' },
      { status: 400, message: 'Message body is not valid UTF-8' },
      { status: 413, message: `Message body is ${70 * 1024} bytes; the limit is ${64 * 1024}` },
    ]);
    expect((await system.client.place([{ productId: mouse.id, quantity: 1 }])).order.status).toBe('PENDING');
  });

  it('refuses injection strings, very long strings and wrong types without writing anything', async () => {
    const before = (await system.nest.send<Page>('orders.find.all', {})).meta.total;
    const hostile = ['1; DROP TABLE orders; --', "' OR '1'='1", '<script>alert(1)</script>', '${process.exit()}'];
    for (const productId of hostile) {
      const error = await system.nest.sendExpectingError('orders.create', { items: [{ productId, quantity: 1 }] });
      expect(error).toEqual({ status: 400, message: `Products not found: ${productId}` });
    }
    const tooLong = await system.nest.sendExpectingError('orders.create', {
      items: [{ productId: 'x'.repeat(10_000), quantity: 1 }],
      idempotencyKey: 'k'.repeat(10_000),
    });
    expect(tooLong).toEqual({
      status: 400,
      message: ['items.0.productId must be at most 64 characters', 'idempotencyKey must be at most 128 characters'],
    });
    for (const payload of [
      {},
      42,
      'orders',
      [],
      { items: null },
      { items: [null] },
      { items: [{ productId: {}, quantity: [] }] },
    ]) {
      expect((await system.nest.sendExpectingError('orders.create', payload)).status).toBe(400);
    }
    expect((await system.nest.sendExpectingError('orders.find.one', { id: "' OR 1=1 --" })).status).toBe(400);
    expect((await system.nest.sendExpectingError('orders.find.all', { status: "PAID' OR '1'='1" })).status).toBe(400);
    expect((await system.nest.send<Page>('orders.find.all', {})).meta.total).toBe(before);
  });

  it('treats a body that is not a NestJS envelope as the payload itself', async () => {
    const reply = await system.nats.request('orders.find.one', Buffer.from(JSON.stringify({ id: 'nope' })), {
      timeout: 5_000,
    });
    expect(JSON.parse(Buffer.from(reply.data).toString())).toEqual({
      err: { status: 400, message: ['id must be a UUID'] },
      isDisposed: true,
    });
  });
});

describe('reads', () => {
  it('finds one order, with 404 for an unknown id and 400 for a malformed one', async () => {
    const { order } = await system.client.place([{ productId: mouse.id, quantity: 2 }]);
    expect(await system.client.findOne(order.id)).toEqual(order);
    expect(await system.nest.send('findOneOrder', { id: order.id })).toEqual(order);

    const unknown = randomUUID();
    expect(await system.nest.sendExpectingError('orders.find.one', { id: unknown })).toEqual({
      status: 404,
      message: `Order with id ${unknown} not found`,
    });
    expect(await system.nest.sendExpectingError('orders.find.one', { id: 'abc' })).toEqual({
      status: 400,
      message: ['id must be a UUID'],
    });
  });

  it('lists orders newest first with pagination meta and a status filter', async () => {
    const placed: PlacedOrder[] = [];
    for (let i = 0; i < 3; i += 1) placed.push(await system.client.place([{ productId: mouse.id, quantity: i + 1 }]));
    const newestFirst = placed.map((p) => p.order.id).reverse();

    const page = await system.nest.send<Page>('orders.find.all', { page: 1, limit: 2 });
    expect(page.data.map((order) => order.id)).toEqual(newestFirst.slice(0, 2));
    const total = await system.pool.oneFirst(
      sql.type(z.object({ count: z.number() }))`SELECT count(*)::int AS count FROM orders`,
    );
    expect(page.meta).toEqual({ total, page: 1, lastPage: Math.ceil(total / 2) });
    expect(page.data[0]).not.toHaveProperty('OrderItems');

    const second = await system.nest.send<Page>('findAllOrders', { page: 2, limit: 2 });
    expect(second.data[0]?.id).toBe(newestFirst[2]);

    const paid = placed[1]?.order.id as string;
    await system.client.pay(paid);
    await system.client.waitForStatus(paid, 'PAID');
    const onlyPaid = await system.nest.send<Page>('orders.find.all', { status: 'PAID', limit: 100 });
    expect(onlyPaid.data.map((order) => order.id)).toContain(paid);
    expect(onlyPaid.data.every((order) => order.status === 'PAID')).toBe(true);
    expect(onlyPaid.meta.total).toBe(onlyPaid.data.length);

    expect(await system.nest.sendExpectingError('orders.find.all', { page: 0, limit: 500, status: 'LOST' })).toEqual({
      status: 400,
      message: [
        'page must be at least 1',
        'limit must be at most 100',
        'status must be one of PENDING, PAID, DELIVERED, CANCELLED',
      ],
    });
  });
});

describe('payments and status changes', () => {
  it('marks an order PAID once from a NestJS payment.succeeded event, however often it arrives', async () => {
    const { order } = await system.client.place([{ productId: keyboard.id, quantity: 1 }]);
    const payment = paymentEvent(order.id, { receiptUrl: 'https://pay.stripe.com/receipts/r_lifecycle' });
    await system.nest.emit('payment.succeeded', payment);
    await system.nest.emit('payment.succeeded', payment);

    const paid = await system.client.waitForStatus(order.id, 'PAID');
    expect(paid).toMatchObject({ paid: true, stripeChargeId: payment.stripePaymentId, receiptUrl: payment.receiptUrl });
    expect(Date.parse(paid.paidAt as string)).toBeGreaterThanOrEqual(Date.parse(order.createdAt));
    expect((await system.orders.findPaymentIds(order.id)).length).toBe(1);
  });

  it('marks an order PAID through a signed Stripe webhook to the payments service', async () => {
    const { order } = await system.client.place([{ productId: mouse.id, quantity: 1 }]);
    const event = checkoutSessionEvent({ orderId: order.id });
    const answer = await postWebhook(
      webhookUrl(system.paymentsUrl),
      signEvent(event, system.config.stripe.webhookSecret),
    );
    expect(answer.status).toBe(200);

    const paid = await system.client.waitForStatus(order.id, 'PAID');
    expect(paid.paid).toBe(true);
    expect(paid.stripeChargeId).toMatch(/^pi_/);
  });

  it('keeps no promise stack traces unless TEMPORAL_WORKER_STACK_TRACES is set (the default saves CPU)', async () => {
    const { order } = await system.client.place([{ productId: mouse.id, quantity: 1 }]);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(order.id));
    await expect(handle.query('__stack_trace')).rejects.toThrow(/stack traces are not enabled/);
    // Everything else the workflow answers still works.
    expect(await handle.query('getOrder')).toMatchObject({ id: order.id });
  });

  it('moves PAID to DELIVERED, keeps a status it already has, and refuses what the lifecycle forbids', async () => {
    const { order } = await system.client.place([{ productId: keyboard.id, quantity: 1 }]);
    expect(
      await system.nest.sendExpectingError('orders.change.status', { id: order.id, status: 'PAID' }),
    ).toMatchObject({
      status: 409,
      message: expect.stringContaining('from PENDING to PAID'),
    });
    expect(
      await system.nest.sendExpectingError('orders.change.status', { id: order.id, status: 'DELIVERED' }),
    ).toMatchObject({
      status: 409,
      message: expect.stringContaining('from PENDING to DELIVERED'),
    });

    await system.client.pay(order.id);
    const paid = await system.client.waitForStatus(order.id, 'PAID');
    expect(await system.nest.send('orders.change.status', { id: order.id, status: 'PAID' })).toEqual(paid);

    const delivered = await system.nest.send<OrderWithItems>('changeOrderStatus', {
      id: order.id,
      status: 'DELIVERED',
    });
    expect(delivered).toMatchObject({ status: 'DELIVERED', paid: true });
    expect(await system.client.findOne(order.id)).toEqual(delivered);
    expect(
      await system.nest.sendExpectingError('orders.change.status', { id: order.id, status: 'CANCELLED' }),
    ).toMatchObject({
      status: 409,
      message: expect.stringContaining('from DELIVERED to CANCELLED'),
    });
  });

  it('applies a delivery requested right behind its payment after the payment, not against the stale state', async () => {
    const { order } = await system.client.place([{ productId: mouse.id, quantity: 3 }]);
    const handle = system.temporal.workflow.getHandle(orderWorkflowId(order.id));
    // Signed as the gateway signs what it signals.
    await handle.signal(
      paymentSucceededSignal,
      signPayment(paymentEvent(order.id), system.config.paymentTrust.signingKey),
    );
    // Through the gateway, as a caller sends it: the row still says PENDING, the workflow decides.
    const delivered = await system.nest.send<OrderWithItems>('orders.change.status', {
      id: order.id,
      status: 'DELIVERED',
    });
    expect(delivered).toMatchObject({ status: 'DELIVERED', paid: true });
    expect(await system.client.findOne(order.id)).toEqual(delivered);
  });

  it('refuses bad status changes with 400 and unknown orders with 404', async () => {
    expect(
      await system.nest.sendExpectingError('orders.change.status', { id: 'x', status: 'SHIPPED', by: 'me' }),
    ).toEqual({
      status: 400,
      message: [
        'id must be a UUID',
        'status must be one of PENDING, PAID, DELIVERED, CANCELLED',
        'property by should not exist',
      ],
    });
    const unknown = randomUUID();
    expect(await system.nest.sendExpectingError('orders.change.status', { id: unknown, status: 'CANCELLED' })).toEqual({
      status: 404,
      message: `Order with id ${unknown} not found`,
    });
  });

  it('expires the checkout session of a PENDING order it cancels', async () => {
    const { order, paymentSession } = await system.client.place([{ productId: mouse.id, quantity: 1 }]);
    expect(paymentSession.sessionId).toMatch(/^cs_/);
    await system.nest.send('orders.change.status', { id: order.id, status: 'CANCELLED' });

    const history = await system.temporal.workflow.getHandle(orderWorkflowId(order.id)).fetchHistory();
    // A local activity: its marker holds the activity type and the result.
    const expiry = (history.events ?? [])
      .map((event) => event.markerRecordedEventAttributes?.details)
      .find((details) => {
        const data = details?.data?.payloads?.[0];
        return (
          data !== undefined &&
          defaultPayloadConverter.fromPayload<{ activity_type?: string }>(data as Payload).activity_type ===
            'expirePaymentSession'
        );
      });
    expect(expiry).toBeDefined();
    const result = expiry?.result?.payloads?.[0];
    expect(defaultPayloadConverter.fromPayload(result as Payload)).toMatchObject({ expired: true });
  });

  it('records a payment for a cancelled order and requests its refund', async () => {
    const refunds: unknown[] = [];
    const subscription = system.nats.subscribe(REFUND_REQUESTED_SUBJECT, {
      callback: (_error, msg) => {
        refunds.push(msg.json());
      },
    });
    const refunded = system.nats.subscribe(REFUNDED_SUBJECT, {
      callback: (_error, msg) => {
        refunds.push(msg.json());
      },
    });
    const { order } = await system.client.place([{ productId: mouse.id, quantity: 1 }]);
    const cancelled = await system.nest.send<OrderWithItems>('orders.change.status', {
      id: order.id,
      status: 'CANCELLED',
    });
    expect(cancelled.status).toBe('CANCELLED');

    const late = paymentEvent(order.id);
    await system.nest.emit('payment.succeeded', late);
    await eventually(async () => expect((await system.orders.findPaymentIds(order.id)).length).toBe(1));
    await eventually(async () =>
      expect(refunds).toContainEqual({
        pattern: REFUND_REQUESTED_SUBJECT,
        data: {
          orderId: order.id,
          stripePaymentId: late.stripePaymentId,
          reason: 'payment received for a CANCELLED order',
          // Signed by the worker, so the payments service refunds only what the worker asked for.
          signature: expect.any(String),
        },
      }),
    );
    expect(await system.client.findOne(order.id)).toMatchObject({ status: 'CANCELLED', paid: false });
    // The payments service acts on the request: Stripe refunds the payment.
    await eventually(async () =>
      expect(refunds).toContainEqual({
        pattern: REFUNDED_SUBJECT,
        data: {
          orderId: order.id,
          stripePaymentId: late.stripePaymentId,
          refundId: expect.stringMatching(/^re_/),
          signature: expect.any(String),
        },
      }),
    );
    subscription.unsubscribe();
    refunded.unsubscribe();
  });
});

describe('Temporal surface', () => {
  it('answers getOrder from the CLI and finds PAID orders by search attribute', async () => {
    const { order } = await system.client.place([{ productId: keyboard.id, quantity: 2 }]);
    const payment = await system.client.pay(order.id);
    await system.client.waitForStatus(order.id, 'PAID');
    const cli = process.env.TEMPORAL_CLI as string;
    const address = ['--address', system.config.temporal.address];

    const query = await run(cli, [
      'workflow',
      'query',
      ...address,
      '--workflow-id',
      orderWorkflowId(order.id),
      '--name',
      'getOrder',
      '-o',
      'json',
    ]);
    expect(JSON.parse(query.stdout)).toMatchObject({
      queryResult: [{ id: order.id, status: 'PAID', totalAmount: 99.98 }],
    });

    await eventually(async () => {
      const list = await run(cli, ['workflow', 'list', ...address, '--query', 'OrderStatus="PAID"', '-o', 'json']);
      expect(list.stdout).toContain(orderWorkflowId(order.id));
    });
    await eventually(async () => {
      const list = await run(cli, ['workflow', 'list', ...address, '--query', 'OrderTotal=99.98', '-o', 'json']);
      expect(list.stdout).toContain(orderWorkflowId(order.id));
    });
    // Support finds an order from the payment a customer quotes.
    await eventually(async () => {
      const list = await run(cli, [
        'workflow',
        'list',
        ...address,
        '--query',
        `PaymentId="${payment.stripePaymentId}"`,
        '-o',
        'json',
      ]);
      expect(JSON.parse(list.stdout)).toEqual([
        expect.objectContaining({ execution: expect.objectContaining({ workflowId: orderWorkflowId(order.id) }) }),
      ]);
    });
  });
});
