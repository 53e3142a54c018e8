import { fromMinorUnits, minorUnitDigits, toMinorUnits } from '../orders/money';
import type { Order, OrderWithItems, PaymentSession } from '../orders/types';
import type { Product } from '../products/products-repository';
import { fields, table } from './table';
import type { TimelineEntry } from './timeline';

/** How the `orders` command shows what the service answered, as readable text. */

export interface Page<T> {
  data: T[];
  meta: { total: number; page: number; lastPage: number };
}

/** An amount with its currency's minor-unit digits (2 unless the currency says otherwise). */
const money = (amount: number, currency?: string): string =>
  `${amount.toFixed(currency ? minorUnitDigits(currency) : 2)}${currency ? ` ${currency.toUpperCase()}` : ''}`;

function itemsTable(order: OrderWithItems): string {
  return table(
    [
      { header: 'PRODUCT' },
      { header: 'NAME' },
      { header: 'PRICE', align: 'right' },
      { header: 'QTY', align: 'right' },
      { header: 'SUBTOTAL', align: 'right' },
    ],
    order.OrderItems.map((item) => [
      String(item.productId),
      item.name,
      money(item.price),
      String(item.quantity),
      money(fromMinorUnits(toMinorUnits(item.price, order.currency) * item.quantity, order.currency)),
    ]),
  );
}

function orderFields(order: OrderWithItems): string {
  const pairs: Array<[string, string]> = [
    ['Order', order.id],
    ['Status', order.status],
    [
      'Total',
      `${money(order.totalAmount, order.currency)} (${order.totalItems} item${order.totalItems === 1 ? '' : 's'})`,
    ],
    ['Created', order.createdAt],
  ];
  if (order.paidAt !== null) pairs.push(['Paid at', order.paidAt]);
  if (order.stripeChargeId !== null) pairs.push(['Payment', order.stripeChargeId]);
  if (order.receiptUrl !== null) pairs.push(['Receipt', order.receiptUrl]);
  return fields(pairs);
}

export function formatOrder(order: OrderWithItems): string {
  return `${orderFields(order)}\n\n${itemsTable(order)}`;
}

export function formatPlaced(placed: { order: OrderWithItems; paymentSession: PaymentSession }): string {
  return `${formatOrder(placed.order)}\n\nPay at: ${placed.paymentSession.url}`;
}

export function formatTimeline(timeline: TimelineEntry[] | null): string {
  if (timeline === null) return 'Timeline: no workflow history (Temporal removed it after the retention period)';
  return table(
    [{ header: 'TIME' }, { header: 'EVENT' }, { header: 'DETAIL' }],
    timeline.map((entry) => [entry.at, entry.event, entry.detail ?? '']),
  );
}

export function formatShown(order: OrderWithItems, timeline: TimelineEntry[] | null): string {
  return `${formatOrder(order)}\n\n${formatTimeline(timeline)}`;
}

const pageLine = (meta: Page<unknown>['meta'], noun: string): string =>
  `page ${meta.page} of ${Math.max(meta.lastPage, 1)}, ${meta.total} ${noun}${meta.total === 1 ? '' : 's'}`;

export function formatOrderList(page: Page<Order>): string {
  const rows = page.data.map((order) => [
    order.id,
    order.status,
    String(order.totalItems),
    money(order.totalAmount, order.currency),
    order.createdAt,
  ]);
  const header = [
    { header: 'ID' },
    { header: 'STATUS' },
    { header: 'ITEMS', align: 'right' as const },
    { header: 'TOTAL', align: 'right' as const },
    { header: 'CREATED' },
  ];
  return `${table(header, rows)}\n${pageLine(page.meta, 'order')}`;
}

export function formatProducts(page: Page<Product>): string {
  const rows = page.data.map((product) => [String(product.id), product.name, money(product.price)]);
  return `${table([{ header: 'ID', align: 'right' }, { header: 'NAME' }, { header: 'PRICE', align: 'right' }], rows)}\n${pageLine(page.meta, 'product')}`;
}

export function formatPayment(orderId: string, paymentId: string, eventId: string): string {
  return `Payment ${paymentId} sent for order ${orderId} (Stripe event ${eventId}); the order becomes PAID when the service applies it.`;
}
