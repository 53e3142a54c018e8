import type { NatsConnection } from '@nats-io/nats-core';
import type { Config } from '../config';
import { NoRespondersError, requestPeer } from '../nats/nest-transport';
import { RpcError } from '../rpc-error';
import { ORDER_SUBJECTS, PRODUCTS_SUBJECTS } from '../nats/subjects';
import type { PlacedOrder } from '../orders/workflow-api';
import type { Order, OrderWithItems } from '../orders/types';
import type { Product } from '../products/products-repository';
import { CliError, EXIT } from './errors';
import type { OrdersCommand } from './orders-args';
import {
  formatOrder,
  formatOrderList,
  formatPayment,
  formatPlaced,
  formatProducts,
  formatShown,
  type Page,
} from './orders-output';
import { isAccepted, PaymentsUnreachableError, sendTestPayment, testPaymentRefusal } from './send-test-payment';
import type { TimelineEntry } from './timeline';

/**
 * Runs one `orders` command against the service: requests over NATS as a NestJS peer does, the
 * timeline from Temporal. Answers what to print, readable or JSON; failures are CliErrors.
 */

export interface OrdersCliContext {
  config: Config;
  /** Connected on first use, so commands that do not need it never wait for it. */
  nats(): Promise<NatsConnection>;
  /** The order's timeline from Temporal; null when Temporal no longer has its workflow. */
  timeline(orderId: string): Promise<TimelineEntry[] | null>;
}

export interface CommandOutput {
  text: string;
  json: unknown;
}

async function request<T>(
  context: OrdersCliContext,
  subject: string,
  payload: unknown,
  timeoutMs?: number,
): Promise<T> {
  const nats = await context.nats();
  try {
    return await requestPeer<T>(nats, subject, payload, timeoutMs ?? context.config.nats.requestTimeoutMs);
  } catch (error) {
    if (!(error instanceof RpcError)) throw error;
    if (error instanceof NoRespondersError) {
      throw new CliError(
        EXIT.unreachable,
        `nobody answers ${subject} on ${context.config.nats.url}: is the service running?`,
      );
    }
    // requestPeer marks what a peer answered with its subject; anything else never got an answer.
    if (error.extra.subject === undefined) throw new CliError(EXIT.unreachable, error.message);
    throw new CliError(EXIT.service, `${subject} answered ${error.status}: ${error.message}`);
  }
}

export async function runOrdersCommand(command: OrdersCommand, context: OrdersCliContext): Promise<CommandOutput> {
  switch (command.kind) {
    case 'help':
      throw new Error('help is answered without running a command');
    case 'create': {
      // As long as the service may take to answer, and a second for the trip.
      const placed = await request<PlacedOrder>(
        context,
        ORDER_SUBJECTS.create,
        command.payload,
        context.config.orders.createTimeoutMs + 1_000,
      );
      return { text: formatPlaced(placed), json: placed };
    }
    case 'list': {
      const page = await request<Page<Order>>(context, ORDER_SUBJECTS.findAll, command.query);
      return { text: formatOrderList(page), json: page };
    }
    case 'show': {
      const order = await request<OrderWithItems>(context, ORDER_SUBJECTS.findOne, { id: command.id });
      const timeline = await context.timeline(order.id);
      return { text: formatShown(order, timeline), json: { order, timeline } };
    }
    case 'status': {
      const order = await request<OrderWithItems>(context, ORDER_SUBJECTS.changeStatus, {
        id: command.id,
        status: command.status,
      });
      return { text: formatOrder(order), json: order };
    }
    case 'pay': {
      // Refused before anything is sent: in production a test payment would pay an order for nothing.
      const refusal = testPaymentRefusal();
      if (refusal !== undefined) throw new CliError(EXIT.usage, refusal);
      // The payments service accepts a payment for any id; asking first makes a typo a 404.
      const order = await request<OrderWithItems>(context, ORDER_SUBJECTS.findOne, { id: command.id });
      let payment;
      try {
        payment = await sendTestPayment({
          orderId: order.id,
          paymentsUrl: command.paymentsUrl ?? context.config.payments.publicUrl,
          webhookSecret: context.config.stripe.webhookSecret,
        });
      } catch (error) {
        if (error instanceof PaymentsUnreachableError) throw new CliError(EXIT.unreachable, error.message);
        throw error;
      }
      if (!isAccepted(payment)) {
        throw new CliError(
          EXIT.service,
          `the payments service refused the payment: ${payment.answer.status} ${JSON.stringify(payment.answer.body)}`,
        );
      }
      const { paymentId, eventId } = payment;
      return { text: formatPayment(order.id, paymentId, eventId), json: { orderId: order.id, paymentId, eventId } };
    }
    case 'products': {
      const page = await request<Page<Product>>(context, PRODUCTS_SUBJECTS.findAll, command.query);
      return { text: formatProducts(page), json: page };
    }
  }
}
