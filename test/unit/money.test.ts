import { fromCents, toCents, totalCents } from '../../src/orders/money';

describe('money', () => {
  it('converts prices to integer cents without floating-point drift', () => {
    expect(toCents(19.99)).toBe(1999);
    expect(toCents(0.1 + 0.2)).toBe(30);
    expect(toCents(1_000_000.01)).toBe(100_000_001);
  });

  it('rejects prices that are not money', () => {
    expect(() => toCents(-1)).toThrow(RangeError);
    expect(() => toCents(Number.NaN)).toThrow(RangeError);
  });

  it('totals in cents, so the total is exact', () => {
    const lines = Array.from({ length: 10 }, () => ({ priceCents: toCents(0.1), quantity: 3 }));
    expect(totalCents(lines)).toBe(300);
    expect(fromCents(totalCents(lines))).toBe(3);
  });
});
