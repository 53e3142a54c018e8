import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload, RpcException, Transport } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Order, OrderWithItems } from '../src/orders/types';
import type { PlacedOrder } from '../src/orders/workflow-api';
import { NEST_MAJOR, nestVersions } from './support/nest-client';
import { startTestSystem, type TestSystem } from './support/system';

/**
 * The wire contract with NestJS peers, both ways, on the NestJS major the shop runs: a NestJS
 * ClientProxy (ClientNats) calls every subject the service answers, and NestJS @MessagePattern
 * servers (a products and a payments service) answer the requests the service makes. The peers
 * answer subjects of this file's own, so the run's companion services never see these requests.
 */

const suffix = randomUUID().slice(0, 8);
const VALIDATE_SUBJECT = `validate_products.nest-${suffix}`;
const CREATE_SESSION_SUBJECT = `create.payment.session.nest-${suffix}`;

interface NestProduct {
  id: number | string;
  name: string;
  price: number;
  available: boolean;
}

/** The NestJS products service's catalogue: one numeric id, one string id, one it refuses to price. */
const catalogue = new Map<string, NestProduct>(
  [
    { id: 7001, name: 'Nest keyboard', price: 49.99, available: true },
    { id: 'sku-mouse', name: 'Nest mouse', price: 19.5, available: true },
    { id: 7002, name: 'Nest yacht', price: 1_999, available: true },
  ].map((product) => [String(product.id), product]),
);
const WITHDRAWN = 'sku-withdrawn';

/** What each NestJS server was asked, in order. */
const validateRequests: unknown[] = [];
const sessionRequests: Array<{ orderId: string; currency: string; items: unknown[] }> = [];

@Controller()
class ProductsController {
  @MessagePattern(VALIDATE_SUBJECT)
  validate(@Payload() ids: Array<number | string>): NestProduct[] {
    validateRequests.push(ids);
    if (ids.includes(WITHDRAWN)) {
      throw new RpcException({ status: 400, message: `Product ${WITHDRAWN} is withdrawn from sale` });
    }
    return ids.flatMap((id) => catalogue.get(String(id)) ?? []);
  }
}

@Module({ controllers: [ProductsController] })
class ProductsModule {}

@Controller()
class PaymentsController {
  @MessagePattern(CREATE_SESSION_SUBJECT)
  createSession(@Payload() session: { orderId: string; currency: string; items: Array<{ name: string }> }) {
    sessionRequests.push(session);
    if (session.items.some((item) => item.name === 'Nest yacht')) {
      throw new RpcException({ status: 400, message: 'amount_too_large: the checkout total is over the limit' });
    }
    // An older NestJS payments service: `succesUrl`, as it has always spelled it.
    return {
      url: `https://checkout.nest.example/${session.orderId}`,
      succesUrl: 'https://shop.example/payments/success',
      cancelUrl: 'https://shop.example/payments/cancel',
    };
  }
}

@Module({ controllers: [PaymentsController] })
class PaymentsModule {}

let system: TestSystem;
const peers: INestMicroservice[] = [];

async function startNestPeer(module: object, queue: string): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(module, {
    transport: Transport.NATS,
    options: { servers: [process.env.NATS_URL as string], queue },
    logger: ['error', 'warn'],
  });
  peers.push(app);
  await app.listen();
  // A round trip on the peer's own connection: the server has its subscriptions before any request.
  await app.unwrap<NatsConnection>().flush();
  return app;
}

beforeAll(async () => {
  system = await startTestSystem({
    PRODUCTS_VALIDATE_SUBJECT: VALIDATE_SUBJECT,
    PAYMENTS_CREATE_SESSION_SUBJECT: CREATE_SESSION_SUBJECT,
  });
  // The companion services answer the configured subjects too: the NestJS peers take their place.
  // (Nothing here asks the payments service anything else: no refund, no charge id to identify.)
  await system.stopPart('products');
  await system.stopPart('payments');
  await startNestPeer(ProductsModule, 'products-service');
  await startNestPeer(PaymentsModule, 'payments-service');
});

afterAll(async () => {
  await Promise.all(peers.map((app) => app.close()));
  await system?.stop();
});

it(`runs NestJS ${NEST_MAJOR}, whose NATS transport is the service's own @nats-io client`, () => {
  const versions = nestVersions();
  for (const version of Object.values(versions)) expect(Number(version.split('.')[0])).toBe(NEST_MAJOR);
  // Its peer dependency resolves to the same @nats-io/transport-node the service connects with,
  // and the `nats` v2 package is installed for no one.
  const nestDir = path.dirname(require.resolve('@nestjs/microservices'));
  expect(require.resolve('@nats-io/transport-node', { paths: [nestDir] })).toBe(
    require.resolve('@nats-io/transport-node'),
  );
  expect(() => require.resolve('nats')).toThrow(/Cannot find module/);
});

describe('a NestJS ClientProxy calling the service, which calls NestJS @MessagePattern peers', () => {
  let placed: PlacedOrder;

  it('orders.create: priced by the NestJS products service, with the NestJS payments service session', async () => {
    placed = await system.nest.send<PlacedOrder>('orders.create', {
      items: [
        { productId: 7001, quantity: 2, price: 0.01 },
        { productId: 'sku-mouse', quantity: 1 },
      ],
    });
    expect(validateRequests).toContainEqual([7001, 'sku-mouse']);
    expect(placed.order).toMatchObject({
      status: 'PENDING',
      paid: false,
      currency: 'usd',
      totalAmount: 119.48,
      totalItems: 3,
      OrderItems: [
        { productId: 7001, name: 'Nest keyboard', price: 49.99, quantity: 2 },
        { productId: 'sku-mouse', name: 'Nest mouse', price: 19.5, quantity: 1 },
      ],
    });
    expect(sessionRequests).toContainEqual({
      orderId: placed.order.id,
      currency: 'usd',
      items: [
        { name: 'Nest keyboard', price: 49.99, quantity: 2 },
        { name: 'Nest mouse', price: 19.5, quantity: 1 },
      ],
    });
    expect(placed.paymentSession).toMatchObject({
      url: `https://checkout.nest.example/${placed.order.id}`,
      succesUrl: 'https://shop.example/payments/success',
      cancelUrl: 'https://shop.example/payments/cancel',
    });
  });

  it('orders.find.one and orders.find.all (and their aliases) answer the order as placed', async () => {
    const { id } = placed.order;
    const found = await system.nest.send<OrderWithItems>('orders.find.one', { id: id.toUpperCase() });
    expect(found).toEqual(placed.order);
    expect(await system.nest.send('findOneOrder', { id })).toEqual(found);

    for (const subject of ['orders.find.all', 'findAllOrders']) {
      const page = await system.nest.send<{ data: Order[]; meta: { total: number; page: number; lastPage: number } }>(
        subject,
        { status: 'PENDING', limit: 100 },
      );
      expect(page.meta).toMatchObject({ page: 1, total: expect.any(Number), lastPage: expect.any(Number) });
      expect(page.data.every((order) => order.status === 'PENDING')).toBe(true);
      expect(page.data.map((order) => order.id)).toContain(id);
    }
  });

  it('payment.succeeded (a NestJS event) and orders.change.status (and its alias) follow the lifecycle', async () => {
    const { id } = placed.order;
    await system.client.pay(id);
    expect(await system.client.waitForStatus(id, 'PAID')).toMatchObject({ paid: true, status: 'PAID' });
    const delivered = await system.nest.send<OrderWithItems>('changeOrderStatus', { id, status: 'DELIVERED' });
    expect(delivered).toMatchObject({ id, status: 'DELIVERED', paid: true });
    expect(await system.nest.sendExpectingError('orders.change.status', { id, status: 'PENDING' })).toEqual({
      status: 409,
      message: 'Cannot change order status from DELIVERED to PENDING',
    });
  });

  it("answers errors as NestJS errors: the client's own, and the NestJS peers' RpcExceptions", async () => {
    const unknown = randomUUID();
    expect(await system.nest.sendExpectingError('orders.find.one', { id: unknown })).toEqual({
      status: 404,
      message: `Order with id ${unknown} not found`,
    });
    expect(await system.nest.sendExpectingError('orders.create', { items: [], coupon: 'x' })).toEqual({
      status: 400,
      message: ['items must contain at least 1 item', 'property coupon should not exist'],
    });

    // A product the NestJS products service does not answer: a 400 naming it (through the alias).
    expect(
      await system.nest.sendExpectingError('createOrder', { items: [{ productId: 'sku-unknown', quantity: 1 }] }),
    ).toEqual({ status: 400, message: 'Products not found: sku-unknown' });
    // The products service's RpcException: its status and message reach the caller.
    expect(
      await system.nest.sendExpectingError('orders.create', { items: [{ productId: WITHDRAWN, quantity: 1 }] }),
    ).toEqual({ status: 400, message: `Product ${WITHDRAWN} is withdrawn from sale` });
    // The payments service's RpcException refuses the checkout for good: a 422 naming its reason.
    const refused = await system.nest.sendExpectingError('orders.create', {
      items: [{ productId: 7002, quantity: 1 }],
    });
    expect(refused).toEqual({
      status: 422,
      message: expect.stringMatching(
        /^The checkout for order [0-9a-f-]{36} was refused: amount_too_large: the checkout total is over the limit; the order was cancelled$/,
      ),
    });
    expect(sessionRequests.at(-1)).toMatchObject({ items: [{ name: 'Nest yacht', price: 1_999, quantity: 1 }] });
  });
});
