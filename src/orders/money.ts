import type { OrderWithItems, PricedItem } from './types';

/**
 * Money is integer minor units of the order's currency everywhere inside the service (as Stripe
 * defines them: cents for USD, none for JPY, thousandths for three-decimal currencies); currency
 * units only on the wire.
 */

/** Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal). */
const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);

/** Stripe's three-decimal currencies (docs.stripe.com/currencies#three-decimal). */
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** How many decimal digits the currency's minor unit has: 0, 2 or 3. */
export function minorUnitDigits(currency: string): number {
  const code = currency.toLowerCase();
  if (ZERO_DECIMAL.has(code)) return 0;
  if (THREE_DECIMAL.has(code)) return 3;
  return 2;
}

/** An amount in currency units as integer minor units of `currency`. */
export function toMinorUnits(amount: number, currency: string): number {
  if (!Number.isFinite(amount) || amount < 0) {
    throw new RangeError(`Not a valid price: ${amount}`);
  }
  // Round, not truncate: 19.99 * 100 is 1998.9999999999998 in floating point.
  return Math.round(amount * 10 ** minorUnitDigits(currency));
}

/** Integer minor units of `currency` as an amount in currency units (for the wire). */
export function fromMinorUnits(minor: number, currency: string): number {
  const digits = minorUnitDigits(currency);
  return digits === 0 ? minor : Number((minor / 10 ** digits).toFixed(digits));
}

/**
 * The largest amount in minor units an order can hold exactly: past 2^53 - 1 a JavaScript number
 * skips integers, so a total would be wrong (PostgreSQL's bigint would hold it, the wire would not).
 */
export const MAX_MINOR_UNITS = Number.MAX_SAFE_INTEGER;

/** Whether `minor` is an amount an order can hold exactly (a safe, non-negative integer). */
export const isExactMinorUnits = (minor: number): boolean => Number.isSafeInteger(minor) && minor >= 0;

/**
 * Sums integer minor units (`priceCents` holds minor units, whatever the currency); the only way
 * totals are computed. A total that is not exact throws rather than being wrong (placement refuses
 * such orders first, naming the product: activities/products.ts).
 */
export function totalCents(lines: ReadonlyArray<{ priceCents: number; quantity: number }>): number {
  const total = lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
  if (!isExactMinorUnits(total)) throw new RangeError(`Total of ${total} minor units is beyond ${MAX_MINOR_UNITS}`);
  return total;
}

/** A stored order's lines as the checkout prices them, in integer minor units of the order's currency. */
export function pricedItems(order: OrderWithItems): PricedItem[] {
  return order.OrderItems.map(({ productId, name, price, quantity }) => ({
    productId,
    name,
    priceCents: toMinorUnits(price, order.currency),
    quantity,
  }));
}
