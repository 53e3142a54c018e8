/** Money is integer cents everywhere inside the service; currency units only on the wire. */

export function toCents(amount: number): number {
  if (!Number.isFinite(amount) || amount < 0) {
    throw new RangeError(`Not a valid price: ${amount}`);
  }
  // Round, not truncate: 19.99 * 100 is 1998.9999999999998 in floating point.
  return Math.round(amount * 100);
}

export function fromCents(cents: number): number {
  return cents / 100;
}

/** Sums integer cents; the only way totals are computed. */
export function totalCents(lines: ReadonlyArray<{ priceCents: number; quantity: number }>): number {
  return lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
}
